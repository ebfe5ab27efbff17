"""Tasks the node agents consume from their own queue `node.<name>`.

They run in the agent process, never touch the database, and report back through
`services.instance_report` on the control queue.
"""
import logging
import os
import threading
from pathlib import Path

from celery import shared_task
from celery.signals import worker_shutdown
from django.conf import settings

from console.celery import CONTROL_QUEUE
from resourcegroups.agent.usage import AGENT_GPUS_VARIABLE
from services import agent

logger = logging.getLogger(__name__)

_supervisor: agent.InstanceSupervisor | None = None
_supervisor_lock = threading.Lock()


def report(instance_id: int, status: str, **fields) -> None:
    from services.tasks import instance_report

    instance_report.apply_async(args=[instance_id, status], kwargs=fields, queue=CONTROL_QUEUE)


def send_usage(samples: list[dict]) -> None:
    from services.tasks import record_usage

    record_usage.apply_async(args=[samples], queue=CONTROL_QUEUE, expires=60)


def supervisor() -> agent.InstanceSupervisor:
    global _supervisor
    with _supervisor_lock:
        if _supervisor is None:
            _supervisor = agent.InstanceSupervisor(Path(settings.EAS_AGENT_DATA_DIR), report, send_usage,
                                                   usage_seconds=settings.EAS_USAGE_SECONDS,
                                                   gpu_count=int(os.environ.get(AGENT_GPUS_VARIABLE, "0")))
        return _supervisor


@worker_shutdown.connect
def stop_instances_with_agent(**kwargs) -> None:
    if _supervisor is not None:
        _supervisor.shutdown()


@shared_task(name="services.start_instance", ignore_result=True)
def start_instance(spec: dict) -> None:
    def progress(line: str) -> None:
        from services.tasks import report_event

        report_event.apply_async(args=[spec["service_id"], line], queue=CONTROL_QUEUE)

    try:
        prepared = agent.prepare(spec, progress)
    except Exception as exc:
        logger.exception("preparing instance %s failed", spec["name"])
        report(spec["instance_id"], "Failed", message=f"preparing the instance failed: {exc}")
        return
    supervisor().start(spec["instance_id"], spec["name"], prepared.argv_for_port, spec["startup_timeout"],
                       gpu=spec["gpu"], token=spec["token"], pins=prepared.pins)


@shared_task(name="services.stop_instance", ignore_result=True)
def stop_instance(instance_id: int) -> None:
    supervisor().stop(instance_id)


@shared_task(name="services.instance_log")
def instance_log(name: str, lines: int = 200) -> str:
    return supervisor().tail_log(name, lines)
