"""Control-plane tasks: what node agents send through the broker (agents never touch the DB),
order processing, and the lifecycle and metering ticks that beat drives."""
from celery import shared_task

from resourcegroups import billing, fleet, lifecycle, orders


@shared_task(name="resourcegroups.register_machine")
def register_machine(**spec) -> dict:
    machine = fleet.register_machine(**spec)
    return {"name": machine.name, "status": machine.status}


@shared_task(name="resourcegroups.machine_heartbeat", ignore_result=True)
def machine_heartbeat(**usage) -> None:
    fleet.record_heartbeat(**usage)


@shared_task(name="resourcegroups.mark_unresponsive_machines", ignore_result=True)
def mark_unresponsive_machines() -> list[str]:
    return fleet.mark_unresponsive_machines()


@shared_task(name="resourcegroups.process_order")
def process_order(order_pk: int) -> dict | None:
    order = orders.process(order_pk)
    return None if order is None else {"order_id": order.order_id, "status": order.status}


@shared_task(name="resourcegroups.run_lifecycle", ignore_result=True)
def run_lifecycle() -> dict:
    return lifecycle.run()


@shared_task(name="resourcegroups.meter_usage", ignore_result=True)
def meter_usage() -> int:
    return billing.meter_usage()
