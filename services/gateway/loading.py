"""Keeping the routing table current: rebuilt on every `eas:routing` notification and on a slow poll.

The notification (Redis pub/sub, published by the deployment engine after each commit) makes a
change visible within milliseconds; the poll covers notifications lost while Redis or this
process was away. Reloads are coalesced: a burst of notifications costs one or two reloads.
"""
from __future__ import annotations

import asyncio
import logging
import time

import redis.asyncio as aioredis
from django.db.models import Q
from redis.exceptions import RedisError

from resourcegroups.models import Machine, ResourceGroup
from services.models import Instance, Service
from services.notifications import ROUTING_CHANNEL

from .routing import InstanceRecord, ServiceRecord, Snapshot

log = logging.getLogger(__name__)

RECONNECT_SECONDS = 1.0


def direct_refusals(services: list[dict]) -> dict[int, str | None]:
    """Per service id: why VPC direct connection is refused, or None when its group allows it."""
    group_ids = {s["resource_group_id"] for s in services if s["resource_group_id"]}
    groups = {(g.group_id, g.account_id): g for g in ResourceGroup.objects.filter(
        group_id__in=group_ids, kind=ResourceGroup.Kind.DEDICATED)}
    refusals = {}
    for service in services:
        group = groups.get((service["resource_group_id"], service["account_id"]))
        if not service["resource_group_id"]:
            refusals[service["id"]] = (f"service {service['name']} runs on the public resource group; "
                                       "direct connection needs a dedicated resource group")
        elif group is None:
            refusals[service["id"]] = (f"service {service['name']} is not on a dedicated resource group "
                                       "of its account")
        elif not group.direct_connection_enabled:
            refusals[service["id"]] = (f"VPC direct connection is not enabled on resource group "
                                       f"{group.group_id}")
        else:
            refusals[service["id"]] = None
    return refusals


def load_snapshot(region: str) -> Snapshot:
    """Services of the region and their routable instances: Running, placed, on a Ready machine."""
    services = list(Service.objects.filter(region=region).values(
        "id", "name", "token", "origin_name", "released", "traffic_weight", "resource_group_id", "account_id"))
    refusals = direct_refusals(services)
    instances = (
        Instance.objects.filter(service__region=region, status=Instance.Status.RUNNING, port__isnull=False)
        .exclude(host="")
        .filter(Q(machine__isnull=True) | Q(machine__status=Machine.Status.READY))
        .order_by("name")
        .values_list("name", "service__name", "host", "port")
    )
    return Snapshot(
        services=tuple(ServiceRecord(s["name"], s["token"], s["origin_name"], s["released"], s["traffic_weight"],
                                     refusals[s["id"]]) for s in services),
        instances=tuple(InstanceRecord(*row) for row in instances),
    )


class RoutingRefresher:
    """Reloads the snapshot (through `load`, off the event loop) and hands it to `apply`."""

    def __init__(self, load, apply, poll_seconds: float, redis_url: str):
        self._load = load
        self._apply = apply
        self._poll_seconds = poll_seconds
        self._redis_url = redis_url
        self._wanted = asyncio.Event()
        self.loaded_at: float | None = None  # monotonic time of the last successful reload
        self.last_error = ""

    def request(self) -> None:
        self._wanted.set()

    async def reload(self) -> bool:
        self._wanted.clear()
        try:
            snapshot = await self._load()
        except Exception as exc:  # the database may be away; keep serving the last table
            if not self.last_error:
                log.warning("routing table not reloaded (serving the previous one): %s", exc)
            self.last_error = f"{type(exc).__name__}: {exc}"
            return False
        self._apply(snapshot)
        self.loaded_at = time.monotonic()
        if self.last_error:
            log.info("routing table reloaded again")
        self.last_error = ""
        return True

    async def run_reloads(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wanted.wait(), self._poll_seconds)
            except TimeoutError:
                pass
            await self.reload()

    async def run_listener(self) -> None:
        """Subscribe to change notifications, reconnecting (and reloading) after Redis comes back."""
        connected = True
        while True:
            client = aioredis.from_url(self._redis_url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(ROUTING_CHANNEL)
                    if not connected:
                        log.info("routing notifications back")
                    connected = True
                    self.request()  # whatever changed while nobody listened
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self.request()
            except (RedisError, OSError) as exc:
                if connected:
                    log.warning("routing notifications unavailable (polling every %ss): %s", self._poll_seconds, exc)
                connected = False
            finally:
                await client.aclose()
            await asyncio.sleep(RECONNECT_SECONDS)
