"""Forwarding a call to an instance over its pooled keep-alive connections, with failover.

Each instance has its own connection pool, so retiring an instance closes exactly its
connections. A call whose connection could not be opened was never sent: the instance is
marked down at once and the call goes to another instance. A call that was sent and then lost
is not repeated (the model may have run); it answers 502, which the SDK retries.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from .config import GatewayConfig
from .routing import Backend, Route
from .upstream import ConnectionPool, NotSent, UpstreamLost, UpstreamTimeout

log = logging.getLogger(__name__)


class NoHealthyInstance(Exception):
    pass


class UpstreamFailed(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(slots=True)
class Reply:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class Forwarder:
    """Opens, retires and uses the instances' connection pools."""

    def __init__(self, config: GatewayConfig):
        self._config = config
        self._closing: set[asyncio.Task] = set()

    def open(self, backend: Backend) -> None:
        config = self._config
        backend.pool = ConnectionPool(backend.host, backend.port, config.connections_per_instance,
                                      config.connect_timeout, config.upstream_timeout)

    def retire(self, backend: Backend) -> None:
        """Close the instance's pool once the calls it is answering are done (it is draining)."""
        task = asyncio.get_running_loop().create_task(self._close_when_idle(backend))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close_when_idle(self, backend: Backend) -> None:
        deadline = time.monotonic() + self._config.upstream_timeout
        while backend.in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        backend.pool.close()

    def close(self, backends) -> None:
        for task in list(self._closing):
            task.cancel()
        for backend in backends:
            backend.pool.close()

    async def forward(self, route: Route, method: str, target: bytes, body: bytes,
                      content_type: bytes | None) -> Reply:
        """Send the call to a healthy instance of `route`; `target` is the instance path and query."""
        tried: list[Backend] = []
        while True:
            backend = route.pick(tried)
            if backend is None:
                raise NoHealthyInstance()
            try:
                return await self._send(backend, method, target, body, content_type)
            except NotSent as exc:
                if backend.up:
                    log.warning("instance %s unreachable, out of rotation: %s", backend.name, exc)
                backend.up = False
                tried.append(backend)

    async def _send(self, backend: Backend, method: str, target: bytes, body: bytes,
                    content_type: bytes | None) -> Reply:
        headers = []
        if content_type is not None:
            headers.append((b"Content-Type", content_type))
        if backend.token_header is not None:
            headers.append((b"Authorization", backend.token_header))
        started = time.perf_counter()
        backend.in_flight += 1
        status, received = 502, b""
        try:
            status, passed, received = await backend.pool.request(method, target, headers, body)
            return Reply(status, passed, received)
        except NotSent:
            status = 0
            raise
        except UpstreamTimeout:
            status = 504
            raise UpstreamFailed(504, f"instance {backend.name} did not answer in time") from None
        except UpstreamLost as exc:
            raise UpstreamFailed(502, f"instance {backend.name} dropped the call: {exc}") from None
        finally:
            backend.in_flight -= 1
            if status:
                backend.stats.record(status, len(body), len(received), time.perf_counter() - started)
