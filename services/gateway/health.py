"""Active health checks: every routed instance's `/health` is probed every `health_interval` seconds.

One failed or slow probe takes an instance out of rotation (so a dead or stuck instance leaves
within about a second, long before its agent reports it); one good probe brings it back.
"""
from __future__ import annotations

import asyncio
import logging

import aiohttp

log = logging.getLogger(__name__)


class HealthChecker:
    def __init__(self, backends, interval: float, timeout: float):
        self._backends = backends  # callable: the Backends of the current table
        self._interval = interval
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def run(self) -> None:
        self._session = aiohttp.ClientSession(timeout=self._timeout, cookie_jar=aiohttp.DummyCookieJar(),
                                              connector=aiohttp.TCPConnector(limit=0))
        loop = asyncio.get_running_loop()
        try:
            while True:
                started = loop.time()
                await asyncio.gather(*(self._probe(backend) for backend in self._backends()))
                await asyncio.sleep(max(0.0, self._interval - (loop.time() - started)))
        finally:
            await self._session.close()

    async def _probe(self, backend) -> None:
        try:
            async with self._session.get(backend.base_url + "/health") as response:
                await response.read()
                healthy, reason = response.status == 200, f"/health answered {response.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            healthy, reason = False, f"/health failed: {type(exc).__name__} {exc}".strip()
        if healthy != backend.up:
            if healthy:
                log.info("instance %s healthy again, back in rotation", backend.name)
            else:
                log.warning("instance %s out of rotation: %s", backend.name, reason)
            backend.up = healthy
