"""Control-plane tasks of the deployment engine."""
from celery import shared_task

from services import events
from services.models import Service


@shared_task(name="services.report_event", ignore_result=True)
def report_event(service_id: int, message: str, level: str = "OK") -> None:
    """An event line observed away from the web process (by an agent or the reconciler)."""
    service = Service.objects.filter(pk=service_id).first()
    if service is not None:
        events.record_event(service, message, level)
