"""ASGI application of the gateway process (`uvicorn services.gateway.app:application`, port 8080).

A plain ASGI callable rather than Django views: the prediction hot path must not pay for
Django's request machinery or touch the database. Everything it needs (routes, tokens, healthy
instances, counters) is in memory; the database is read and written by background tasks on one
thread of their own.

Paths: `/api/predict/<service>[/<sub-path>]` (any method; the sub-path and query reach the
instance as `/<sub-path>?<query>`), the two service-discovery paths of `discovery`, `/metrics`
(Prometheus), `/healthz` and `/readyz`.
"""
import asyncio
import logging
import os
import time
from datetime import UTC, datetime

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
django.setup()

from django.conf import settings  # noqa: E402  (needs Django set up first)

from console.health import readiness  # noqa: E402

from . import auth, discovery  # noqa: E402
from .asgi import BodyTooLarge, read_body, send_bytes, send_json, send_text  # noqa: E402
from .config import GatewayConfig  # noqa: E402
from .database import DatabaseThread  # noqa: E402
from .health import HealthChecker  # noqa: E402
from .loading import RoutingRefresher, load_snapshot  # noqa: E402
from .metrics import GatewayMetrics, PrometheusExport  # noqa: E402
from .proxy import Forwarder, NoHealthyInstance, UpstreamFailed  # noqa: E402
from .routing import RoutingTable, Snapshot  # noqa: E402

log = logging.getLogger("services.gateway")

PREDICT_PREFIX = "/api/predict/"
PREDICT_PREFIX_BYTES = PREDICT_PREFIX.encode()
PROMETHEUS_CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"


class Gateway:
    """The routing table and everything that keeps it current, counted and healthy."""

    def __init__(self, config: GatewayConfig):
        self.config = config
        self.table = RoutingTable()
        self.metrics = GatewayMetrics()
        self.forwarder = Forwarder(config)
        self.database = DatabaseThread()
        self.refresher = RoutingRefresher(lambda: self.database.run(load_snapshot, settings.EAS_REGION),
                                          self.apply, config.poll_seconds, settings.CACHES["default"]["LOCATION"])
        self.health = HealthChecker(self.all_backends, config.health_interval, config.health_timeout)
        self.prometheus = PrometheusExport(self.metrics, self.all_backends)
        self._tasks: list[asyncio.Task] = []

    def all_backends(self):
        return list(self.table.backends.values())

    def apply(self, snapshot: Snapshot) -> None:
        added, retired = self.table.rebuild(snapshot)
        for backend in added:
            self.forwarder.open(backend)
            backend.stats = self.metrics.instance(backend.service, backend.name)
        for backend in retired:
            self.forwarder.retire(backend)
        for route in self.table.routes.values():
            route.stats = self.metrics.endpoint(route.name)
        self.metrics.forget_except(set(self.table.routes), {(b.service, b.name) for b in self.table.backends.values()})

    async def start(self) -> None:
        await self.refresher.reload()
        self._tasks = [asyncio.create_task(coroutine) for coroutine in (
            self.refresher.run_reloads(),
            self.refresher.run_listener(),
            self.health.run(),
            self.metrics.run_flusher(self.database, self.config.metrics_flush_seconds, self.config.metrics_retention),
        )]
        log.info("gateway started: %d routes, %d instances", len(self.table.routes), len(self.table.backends))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        now = time.time()
        window = self.config.metrics_flush_seconds
        await self.metrics.flush(self.database, datetime.fromtimestamp(now // window * window, UTC), window)
        self.forwarder.close(self.all_backends())
        self.database.close()

    async def predict(self, scope, receive, send) -> None:
        started = time.perf_counter()
        name = scope["path"][len(PREDICT_PREFIX):].split("/", 1)[0]
        route = self.table.routes.get(name)
        if route is None:
            self.metrics.record_unrouted(404)
            if name in self.table.closed:
                message = f"service {name} is released into {self.table.closed[name]}; call {self.table.closed[name]}"
            else:
                message = f"service {name} does not exist"
            return await send_text(send, 404, message)

        authorization = content_type = date = None
        declared_length = 0
        for header, value in scope["headers"]:
            if header == b"authorization":
                authorization = value.decode("latin-1")
            elif header == b"content-type":
                content_type = value
            elif header == b"content-length":
                declared_length = int(value) if value.isdigit() else 0
            elif header == b"date":
                date = value.decode("latin-1")

        status, body, reply_body = await self._answer(route, scope, receive, send, authorization, content_type,
                                                      date, declared_length)
        route.stats.record(status, len(body), len(reply_body), time.perf_counter() - started)

    async def _answer(self, route, scope, receive, send, authorization, content_type, date, declared_length):
        """Authorize, forward and answer one call; returns (status, request body, response body) for the counters."""
        limit = self.config.max_body_bytes
        if declared_length > limit:
            return await _refuse(send, 413, f"request body is larger than {limit} bytes")
        signed = authorization is not None and auth.is_signature(authorization)
        if route.tokens and not signed and not (authorization and auth.token_matches(authorization, route.tokens)):
            return await _refuse(send, 401, f"authorization failed for service {route.name}")
        try:
            body = await read_body(receive, limit)
        except BodyTooLarge:
            return await _refuse(send, 413, f"request body is larger than {limit} bytes")
        raw_path = scope.get("raw_path") or scope["path"].encode()
        if route.tokens and signed and not auth.signature_matches(
                authorization, route.tokens, verb=scope["method"], body=body,
                content_type=content_type.decode("latin-1") if content_type else "",
                date=date or "", resources=_signed_resources(scope, raw_path)):
            return await _refuse(send, 401, f"authorization failed for service {route.name}", body)

        rest = raw_path[len(PREDICT_PREFIX_BYTES):]
        slash = rest.find(b"/")
        target = rest[slash:] if slash >= 0 else b"/"
        if scope["query_string"]:
            target += b"?" + scope["query_string"]
        try:
            method = "GET" if scope["method"] == "HEAD" else scope["method"]  # the server leaves out the body
            reply = await self.forwarder.forward(route, method, target, body, content_type)
        except NoHealthyInstance:
            return await _refuse(send, 503, f"service {route.name} has no healthy instance", body)
        except UpstreamFailed as exc:
            return await _refuse(send, exc.status, str(exc), body)
        await send_bytes(send, reply.status, reply.body, reply.headers)
        return reply.status, body, reply.body

    async def discovery(self, send, name: str) -> None:
        status, document = discovery.upstreams(self.table, name)
        await send_json(send, status, document)

    async def readiness(self) -> dict:
        """The shared dependency checks, plus the routing table (ready once it has been loaded)."""
        ready, checks = await asyncio.to_thread(readiness)
        loaded_at = self.refresher.loaded_at
        routing = {"ok": loaded_at is not None, "routes": len(self.table.routes), "instances": len(self.table.backends)}
        if loaded_at is not None:
            routing["age_s"] = round(time.monotonic() - loaded_at, 1)
        if self.refresher.last_error:
            routing["error"] = self.refresher.last_error
        ready = ready and routing["ok"]
        return {"status": "ready" if ready else "not ready", "checks": checks, "routing": routing}


async def _refuse(send, status: int, message: str, body: bytes = b""):
    await send_text(send, status, message)
    return status, body, message.encode()


def _signed_resources(scope, raw_path: bytes) -> list[str]:
    """The request path as a client may have signed it: decoded or as sent, with or without query."""
    paths = {scope["path"], raw_path.decode("latin-1")}
    if scope["query_string"]:
        paths |= {f"{p}?{scope['query_string'].decode('latin-1')}" for p in list(paths)}
    return sorted(paths)


gateway: Gateway | None = None


async def lifespan(receive, send) -> None:
    global gateway
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            gateway = Gateway(GatewayConfig.from_env())
            await gateway.start()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if gateway is not None:
                await gateway.stop()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope, receive, send):
    kind = scope["type"]
    if kind == "lifespan":
        return await lifespan(receive, send)
    if kind != "http":
        return
    path = scope["path"]
    if gateway is not None and path.startswith(PREDICT_PREFIX):
        await gateway.predict(scope, receive, send)
    elif path == "/healthz":
        await send_json(send, 200, {"status": "ok"})
    elif path == "/readyz":
        report = await gateway.readiness() if gateway is not None else {"status": "not ready",
                                                                         "routing": {"ok": False}}
        await send_json(send, 200 if report["status"] == "ready" else 503, report)
    elif gateway is not None and path == "/metrics":
        await send_bytes(send, 200, gateway.prometheus.render(), [(b"content-type", PROMETHEUS_CONTENT_TYPE)])
    elif gateway is not None and (name := discovery.service_name(path)) is not None:
        await gateway.discovery(send, name)
    else:
        await send_text(send, 404, f"no route for {path}")
