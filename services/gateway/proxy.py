"""Forwarding a call to an instance over pooled keep-alive connections, with failover.

Each instance has its own aiohttp session (its connection pool), so retiring an instance closes
exactly its connections. A call whose connection could not be opened was never sent: the
instance is marked down at once and the call goes to another instance. A call that was sent and
then lost is not repeated (the model may have run); it answers 502, which the SDK retries.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import aiohttp
from yarl import URL

from .config import GatewayConfig
from .routing import Backend, Route

log = logging.getLogger(__name__)

NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
PASSED_HEADERS = ("Content-Type", "Content-Encoding")


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


class UpstreamPool:
    def __init__(self, config: GatewayConfig):
        self._config = config
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=config.connect_timeout,
                                              sock_read=config.upstream_timeout)
        self._closing: set[asyncio.Task] = set()

    def open(self, backend: Backend) -> None:
        backend.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._config.connections_per_instance, ttl_dns_cache=None),
            timeout=self._timeout,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding"),
        )

    def retire(self, backend: Backend) -> None:
        """Close the instance's pool once the calls it is answering are done (it is draining)."""
        task = asyncio.get_running_loop().create_task(self._close_when_idle(backend))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close_when_idle(self, backend: Backend) -> None:
        deadline = time.monotonic() + self._config.upstream_timeout
        while backend.in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await backend.session.close()

    async def close(self, backends) -> None:
        for task in list(self._closing):
            task.cancel()
        await asyncio.gather(*(b.session.close() for b in backends if b.session), return_exceptions=True)

    async def forward(self, route: Route, method: str, target: str, body: bytes,
                      content_type: str | None) -> tuple[Reply, Backend]:
        """Send the call to a healthy instance of `route`; `target` is the instance path and query."""
        tried: list[Backend] = []
        while True:
            backend = route.pick(tried)
            if backend is None:
                raise NoHealthyInstance()
            try:
                return await self._send(backend, method, target, body, content_type), backend
            except NOT_SENT as exc:
                if backend.up:
                    log.warning("instance %s unreachable, out of rotation: %s", backend.name, exc)
                backend.up = False
                tried.append(backend)

    async def _send(self, backend: Backend, method: str, target: str, body: bytes,
                    content_type: str | None) -> Reply:
        headers = {}
        if content_type is not None:
            headers["Content-Type"] = content_type
        if backend.token:
            headers["Authorization"] = backend.token
        started = time.perf_counter()
        backend.in_flight += 1
        status = 502
        received = b""
        try:
            async with backend.session.request(method, URL(backend.base_url + target, encoded=True),
                                               data=body or None, headers=headers) as response:
                received = await response.read()
                status = response.status
                passed = [(name.lower().encode(), response.headers[name].encode("latin-1"))
                          for name in PASSED_HEADERS if name in response.headers]
                return Reply(status, passed, received)
        except NOT_SENT:
            status = 0
            raise
        except aiohttp.SocketTimeoutError:
            status = 504
            raise UpstreamFailed(504, f"instance {backend.name} did not answer in time") from None
        except aiohttp.ClientError as exc:
            raise UpstreamFailed(502, f"instance {backend.name} dropped the call: {exc}") from None
        finally:
            backend.in_flight -= 1
            if status:
                backend.stats.record(status, len(body), len(received), time.perf_counter() - started)
