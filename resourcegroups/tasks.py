"""Control-plane tasks that node agents send through the broker (agents never touch the DB)."""
from celery import shared_task

from resourcegroups import fleet


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
