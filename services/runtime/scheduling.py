"""Admission control: `rpc.worker_threads` execution slots behind a queue of `rpc.max_queue_size`.

EAS semantics: a request that finds every slot busy and the queue full is refused with 450 so the
client can retry another instance; a request not answered within `rpc.keepalive` gets 408. A
timed-out job keeps its slot until it really finishes, because the thread running it cannot be
interrupted; counting it as free would let work pile up unbounded behind a stuck model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from .metrics import RuntimeMetrics

T = TypeVar("T")


class QueueFull(Exception):
    """All slots are busy and the queue is full (answered with 450)."""


class RequestTimeout(Exception):
    """The request outlived rpc.keepalive (answered with 408)."""


class Dispatcher:
    def __init__(self, slots: int, max_queue_size: int, metrics: RuntimeMetrics) -> None:
        self.max_queue_size = max_queue_size
        self._metrics = metrics
        self._semaphore = asyncio.Semaphore(slots)
        self._queued = 0
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def queued(self) -> int:
        return self._queued

    @property
    def running(self) -> int:
        return self._running

    def admit(self) -> None:
        """Enter the queue, or raise QueueFull when no slot is free and the queue is at its limit."""
        if self._queued >= self.max_queue_size and self._semaphore.locked():
            raise QueueFull
        self._queued += 1
        self._changed()

    def leave_queue(self, count: int = 1) -> None:
        self._queued -= count
        self._changed()

    async def acquire(self) -> None:
        await self._semaphore.acquire()
        self._running += 1
        self._changed()

    def release(self) -> None:
        self._running -= 1
        self._semaphore.release()
        self._changed()

    async def run(self, start_job: Callable[[], Awaitable[T]], deadline: float) -> T:
        """Queue for a slot, run the job, and give up waiting (not the job) at `deadline`."""
        loop = asyncio.get_running_loop()
        if self._semaphore.locked():
            self.admit()
            try:
                async with asyncio.timeout_at(deadline):
                    await self.acquire()
            except TimeoutError:
                raise RequestTimeout from None
            finally:
                self.leave_queue()
            if loop.time() >= deadline:
                self.release()
                raise RequestTimeout
        else:
            await self.acquire()  # a slot is free: returns without suspending
        try:
            job = asyncio.ensure_future(start_job())
        except BaseException:
            self.release()
            raise
        job.add_done_callback(self._job_done)
        done, _ = await asyncio.wait((job,), timeout=max(deadline - loop.time(), 0))
        if not done:
            raise RequestTimeout
        return job.result()

    async def wait_idle(self) -> None:
        """Return once nothing is queued or running (used by graceful shutdown)."""
        await self._idle.wait()

    def _job_done(self, job: asyncio.Future) -> None:
        self.release()
        if not job.cancelled():
            job.exception()  # mark retrieved: the waiter may have timed out and left

    def _changed(self) -> None:
        self._metrics.queue_length.set(self._queued)
        self._metrics.in_flight.set(self._running)
        if self._queued == 0 and self._running == 0:
            self._idle.set()
        else:
            self._idle.clear()
