"""Change notifications for the gateway's in-memory routing table (Redis pub/sub)."""
import logging

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

ROUTING_CHANNEL = "eas:routing"
_client = None


def client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    return _client


def routing_changed(service_name: str) -> None:
    """Tell every gateway that a service's routes changed; the slow poll covers lost messages."""
    try:
        client().publish(ROUTING_CHANNEL, service_name)
    except redis.RedisError:
        logger.warning("routing change of %s not published; gateways pick it up on their next poll",
                       service_name)
