"""Server-side batching (`rpc.batching`): merge concurrent requests into one processor call.

A batch closes when it reaches `rpc.max_batch_size` or when its first request has waited
`rpc.max_batch_timeout`; it then queues for an execution slot like any single request. Each
request keeps its own 408 deadline; requests that already timed out are dropped from their batch
before it runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .metrics import RuntimeMetrics
from .processors.base import Request, Response
from .scheduling import Dispatcher, RequestTimeout


class _Item:
    __slots__ = ("request", "future", "abandoned")

    def __init__(self, request: Request, future: asyncio.Future) -> None:
        self.request = request
        self.future = future
        self.abandoned = False


class Batcher:
    def __init__(
        self,
        dispatcher: Dispatcher,
        run_batch: Callable[[list[Request]], asyncio.Future],
        max_batch_size: int,
        max_batch_timeout_s: float,
        metrics: RuntimeMetrics,
    ) -> None:
        self._dispatcher = dispatcher
        self._run_batch = run_batch
        self._max_batch_size = max_batch_size
        self._max_batch_timeout_s = max_batch_timeout_s
        self._metrics = metrics
        self._pending: list[_Item] = []
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task] = set()

    async def submit(self, request: Request, deadline: float) -> Response:
        loop = asyncio.get_running_loop()
        self._dispatcher.admit()
        item = _Item(request, loop.create_future())
        self._pending.append(item)
        if len(self._pending) >= self._max_batch_size:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self._max_batch_timeout_s, self._flush)
        try:
            done, _ = await asyncio.wait((item.future,), timeout=max(deadline - loop.time(), 0))
        except asyncio.CancelledError:
            item.abandoned = True
            raise
        if not done:
            item.abandoned = True
            raise RequestTimeout
        return item.future.result()

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if batch:
            task = asyncio.ensure_future(self._execute(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _execute(self, batch: list[_Item]) -> None:
        try:
            await self._dispatcher.acquire()
        finally:
            self._dispatcher.leave_queue(len(batch))
        try:
            live = [item for item in batch if not item.abandoned]
            if not live:
                return
            self._metrics.batch_size.observe(len(live))
            try:
                results = await self._run_batch([item.request for item in live])
            except Exception as exc:  # the whole call failed: every request in it gets the error
                results = [exc] * len(live)
            if len(results) != len(live):
                error = RuntimeError(f"processor returned {len(results)} results for a batch of {len(live)}")
                results = [error] * len(live)
            for item, result in zip(live, results, strict=True):
                if item.future.done():
                    continue
                if isinstance(result, BaseException):
                    item.future.set_exception(result)
                else:
                    item.future.set_result(result)
        finally:
            self._dispatcher.release()
            for item in batch:
                if item.future.done() and not item.future.cancelled():
                    item.future.exception()  # retrieved: abandoned waiters never read it
