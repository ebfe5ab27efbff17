"""The instance's request path and lifecycle, independent of HTTP.

load -> warm up -> ready; every request (HTTP, TF Serving REST/gRPC, warm-up) goes through the
same admission control, so the EAS status codes (450, 408, 400) mean the same thing everywhere.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from .batching import Batcher
from .config import RpcOptions
from .metrics import RuntimeMetrics
from .processors.base import Processor, ProcessorError, Request, Response
from .scheduling import Dispatcher, QueueFull, RequestTimeout
from .warmup import WarmUpError, read_warm_up_requests

log = logging.getLogger("services.runtime.engine")
T = TypeVar("T")

STATUS_QUEUE_FULL = 450
STATUS_TIMEOUT = 408


class Stage(enum.StrEnum):
    LOADING = "loading"
    WARMING_UP = "warming_up"
    READY = "ready"
    STOPPING = "stopping"


class Engine:
    def __init__(
        self,
        rpc: RpcOptions,
        metrics: RuntimeMetrics,
        warm_up_file: Path | None = None,
        warm_up_count: int = 5,
    ) -> None:
        self.rpc = rpc
        self.metrics = metrics
        self.stage = Stage.LOADING
        self.processor: Processor | None = None
        self.structure: dict | None = None
        self._warm_up_file = warm_up_file
        self._warm_up_count = warm_up_count
        self._executor = ThreadPoolExecutor(max_workers=rpc.worker_threads, thread_name_prefix="eas-worker")
        self.dispatcher = Dispatcher(rpc.worker_threads, rpc.max_queue_size, metrics)
        self.batcher: Batcher | None = None
        self._predict: Callable[[Request], asyncio.Future] = self._predict_in_thread

    @property
    def ready(self) -> bool:
        return self.stage is Stage.READY and self.processor.available

    @property
    def health_status(self) -> str:
        if self.stage is Stage.READY and not self.processor.available:
            return "restarting"
        return self.stage.value

    async def create(self, factory: Callable[[], Processor]) -> Processor:
        """Build the processor off the event loop (framework imports take seconds) and wire it in."""
        processor = await asyncio.to_thread(factory)
        if self.rpc.batching and processor.supports_batching:
            self.batcher = Batcher(
                self.dispatcher, self._run_batch, self.rpc.max_batch_size, self.rpc.max_batch_timeout_s, self.metrics
            )
        elif self.rpc.batching:
            log.warning("rpc.batching is on but processor %s cannot batch; requests run one by one",
                        type(processor).__name__)
        self._predict = getattr(processor, "predict_async", None) or self._predict_in_thread
        processor.metrics = self.metrics
        self.processor = processor
        return processor

    async def start(self) -> None:
        """Load the processor created by `create`, replay warm-up requests, then turn ready."""
        started = time.monotonic()
        log.info("loading processor %s", type(self.processor).__name__)
        await self.processor.start()
        self.structure = self.processor.describe()
        log.info("processor loaded in %.2fs", time.monotonic() - started)
        self.stage = Stage.WARMING_UP
        await self._warm_up()
        self.stage = Stage.READY
        self.metrics.ready.set(1)
        log.info("instance ready (worker_threads=%d, max_queue_size=%d, keepalive=%dms, batching=%s)",
                 self.rpc.worker_threads, self.rpc.max_queue_size, self.rpc.keepalive_ms, self.batcher is not None)

    async def drain(self, grace_s: float) -> None:
        """Refuse new work and let queued and running requests finish (up to `grace_s`)."""
        self.stage = Stage.STOPPING
        self.metrics.ready.set(0)
        try:
            await asyncio.wait_for(self.dispatcher.wait_idle(), grace_s)
        except TimeoutError:
            log.warning("stopping with %d requests still running after %.1fs", self.dispatcher.running, grace_s)

    async def stop(self) -> None:
        """Unload the processor and its threads."""
        if self.processor is not None:
            await self.processor.stop()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def handle(self, request: Request) -> Response:
        """Answer one prediction request; never raises."""
        if self.stage is not Stage.READY:
            return Response.text(f"instance is not ready: {self.stage.value}", 503)
        return await self._handle(request)

    async def call(self, function: Callable[..., T], *args) -> T:
        """Run a blocking call under admission control (TF Serving APIs); raises QueueFull/RequestTimeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.rpc.keepalive_s
        return await self.dispatcher.run(lambda: loop.run_in_executor(self._executor, function, *args), deadline)

    async def _handle(self, request: Request) -> Response:
        if not request.body and self.structure is not None:
            return Response.json(self.structure, indent=4)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.rpc.keepalive_s
        try:
            if self.batcher is not None:
                return await self.batcher.submit(request, deadline)
            return await self.dispatcher.run(lambda: self._predict(request), deadline)
        except QueueFull:
            response = Response.text("request dropped: the instance queue is full", STATUS_QUEUE_FULL)
        except RequestTimeout:
            response = Response.text(
                f"request timed out after {self.rpc.keepalive_ms}ms (rpc.keepalive)", STATUS_TIMEOUT
            )
        except ProcessorError as exc:
            response = Response.text(str(exc), exc.status)
        except Exception:
            log.exception("unexpected error while processing a request")
            response = Response.text("internal error while processing the request", 500)
        # EAS closes the connection on 408 and 450 so the client retries on a fresh one
        response.close_connection = response.status in (STATUS_TIMEOUT, STATUS_QUEUE_FULL)
        return response

    def _predict_in_thread(self, request: Request) -> asyncio.Future:
        return asyncio.get_running_loop().run_in_executor(self._executor, self.processor.predict, request)

    def _run_batch(self, requests: list[Request]) -> asyncio.Future:
        return asyncio.get_running_loop().run_in_executor(self._executor, self.processor.predict_batch, requests)

    async def _warm_up(self) -> None:
        path = self._warm_up_file or self.processor.default_warm_up_file()
        if path is None:
            return
        records = read_warm_up_requests(path)
        try:
            bodies = [self.processor.warm_up_body(record) for record in records]
        except ProcessorError as exc:
            raise WarmUpError(f"warm_up_data_path: {path}: {exc}") from exc
        started = time.monotonic()
        failures = 0
        for _ in range(self._warm_up_count):
            for body in bodies:
                response = await self._handle(Request(body))
                if response.status != 200:
                    if failures == 0:
                        log.warning("warm-up request answered %d: %s", response.status,
                                    response.body[:200].decode(errors="replace"))
                    failures += 1
        total = len(bodies) * self._warm_up_count
        log.info("warm-up replayed %d requests from %s in %.2fs (%d failed)",
                 total, path, time.monotonic() - started, failures)
