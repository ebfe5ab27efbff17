"""Control-plane tasks of the deployment engine (queue `control`)."""
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings

from services import (
    agent_tasks,  # noqa: F401  (registers the agents' tasks with the app)
    events,
    metering,
    reconciler,
    schedules,
)
from services.models import Service
from services.monitoring import usage


@shared_task(name="services.report_event", ignore_result=True)
def report_event(service_id: int, message: str, level: str = "OK") -> None:
    """An event line observed away from the web process (by an agent or the reconciler)."""
    service = Service.objects.filter(pk=service_id).first()
    if service is not None:
        events.record_event(service, message, level)


@shared_task(name="services.reconcile_service", ignore_result=True)
def reconcile_service(service_id: int) -> None:
    reconciler.reconcile(service_id)


@shared_task(name="services.reconcile_all", ignore_result=True)
def reconcile_all() -> None:
    """The beat tick: converge every service, catching anything a lost message missed."""
    for service_id in Service.objects.values_list("pk", flat=True):
        reconciler.reconcile(service_id)


@shared_task(name="services.instance_report", ignore_result=True)
def instance_report(instance_id: int, status: str, **fields) -> None:
    reconciler.apply_report(instance_id, status, **fields)


@shared_task(name="services.run_due_redeploys", ignore_result=True)
def run_due_redeploys() -> None:
    schedules.run_due()


@shared_task(name="services.check_redeploy", ignore_result=True, bind=True, max_retries=None)
def check_redeploy(self, schedule_id: int, version: int, deadline: str) -> None:
    """Check a scheduled version once it runs; retried every few seconds while it rolls out."""
    if schedules.check(schedule_id, version, datetime.fromisoformat(deadline)) == "pending":
        raise self.retry(countdown=3)


@shared_task(name="services.meter_public_instances", ignore_result=True)
def meter_public_instances() -> None:
    metering.meter_public_instances()


@shared_task(name="services.record_usage", ignore_result=True)
def record_usage(samples: list[dict]) -> None:
    """Resource usage of instances, sampled by their agents."""
    usage.record(samples)


@shared_task(name="services.forget_old_usage", ignore_result=True)
def forget_old_usage() -> None:
    usage.delete_expired(timedelta(days=settings.EAS_METRICS_RETENTION_DAYS))
