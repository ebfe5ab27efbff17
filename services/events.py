"""Deployment events: stored for later reading and published live to the service's group."""
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from services.models import DeploymentEvent, Service


def events_group(service: Service) -> str:
    """Channels group of a service's event stream (group names allow [a-zA-Z0-9_.-])."""
    return f"service-events.{service.pk}"


def serialize_event(event: DeploymentEvent) -> dict:
    return {
        "id": event.pk,
        "time": event.created.isoformat(),
        "level": event.level,
        "message": event.message,
        "line": event.line,
    }


def record_event(service: Service, message: str, level: str = "OK") -> DeploymentEvent:
    event = DeploymentEvent.objects.create(service=service, message=message, level=level)
    async_to_sync(get_channel_layer().group_send)(
        events_group(service), {"type": "deployment.event", "event": serialize_event(event)}
    )
    return event
