"""Admission control and batching on a real event loop, without HTTP."""

from __future__ import annotations

import asyncio
import time

import pytest

from services.runtime.batching import Batcher
from services.runtime.metrics import RuntimeMetrics
from services.runtime.processors.base import ProcessorError, Request, Response
from services.runtime.scheduling import Dispatcher, QueueFull, RequestTimeout


def run(coroutine):
    return asyncio.run(coroutine)


def test_dispatcher_bounds_concurrency_and_refuses_beyond_the_queue():
    async def scenario():
        metrics = RuntimeMetrics()
        dispatcher = Dispatcher(slots=2, max_queue_size=3, metrics=metrics)
        loop = asyncio.get_running_loop()
        running, peak = 0, 0

        async def job():
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.05)
            running -= 1
            return "done"

        deadline = loop.time() + 5
        tasks = [asyncio.ensure_future(dispatcher.run(job, deadline)) for _ in range(7)]
        results = await asyncio.gather(*tasks, return_exceptions=True)
        return peak, results, dispatcher

    peak, results, dispatcher = run(scenario())
    assert peak == 2
    assert results.count("done") == 5  # 2 running + 3 queued
    assert sum(isinstance(result, QueueFull) for result in results) == 2
    assert dispatcher.queued == 0 and dispatcher.running == 0


def test_timed_out_job_keeps_its_slot_until_it_really_ends():
    async def scenario():
        dispatcher = Dispatcher(slots=1, max_queue_size=10, metrics=RuntimeMetrics())
        loop = asyncio.get_running_loop()
        with pytest.raises(RequestTimeout):
            await dispatcher.run(lambda: asyncio.sleep(0.3), loop.time() + 0.05)
        assert dispatcher.running == 1  # still executing
        started = time.monotonic()
        await dispatcher.run(lambda: asyncio.sleep(0), loop.time() + 2)
        return time.monotonic() - started

    waited = run(scenario())
    assert waited >= 0.2


def test_wait_idle_returns_after_in_flight_work():
    async def scenario():
        dispatcher = Dispatcher(slots=1, max_queue_size=10, metrics=RuntimeMetrics())
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(dispatcher.run(lambda: asyncio.sleep(0.1), loop.time() + 5))
        await asyncio.sleep(0.01)
        await asyncio.wait_for(dispatcher.wait_idle(), 2)
        return task.done()

    assert run(scenario())


def test_batcher_merges_up_to_max_size_and_flushes_on_timeout():
    async def scenario():
        metrics = RuntimeMetrics()
        dispatcher = Dispatcher(slots=1, max_queue_size=100, metrics=metrics)
        sizes = []

        async def run_batch(requests):
            sizes.append(len(requests))
            return [Response(request.body.upper()) for request in requests]

        batcher = Batcher(dispatcher, run_batch, max_batch_size=4, max_batch_timeout_s=0.05, metrics=metrics)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        responses = await asyncio.gather(*(batcher.submit(Request(f"r{i}".encode()), deadline) for i in range(10)))
        return sizes, responses

    sizes, responses = run(scenario())
    assert sizes == [4, 4, 2]
    assert [response.body for response in responses] == [f"R{i}".encode() for i in range(10)]


def test_batcher_delivers_per_request_errors_and_drops_timed_out_requests():
    async def scenario():
        metrics = RuntimeMetrics()
        dispatcher = Dispatcher(slots=1, max_queue_size=100, metrics=metrics)
        seen = []

        async def run_batch(requests):
            seen.append([request.body for request in requests])
            await asyncio.sleep(0.2)
            return [ProcessorError("bad") if request.body == b"bad" else Response(b"ok") for request in requests]

        batcher = Batcher(dispatcher, run_batch, max_batch_size=2, max_batch_timeout_s=0.01, metrics=metrics)
        loop = asyncio.get_running_loop()
        first = asyncio.gather(batcher.submit(Request(b"good"), loop.time() + 5),
                               batcher.submit(Request(b"bad"), loop.time() + 5), return_exceptions=True)
        await asyncio.sleep(0.02)
        # queued behind the running batch; gives up before the slot frees
        late = batcher.submit(Request(b"late"), loop.time() + 0.05)
        with pytest.raises(RequestTimeout):
            await late
        results = await first
        await asyncio.sleep(0.3)
        return results, seen

    results, seen = run(scenario())
    assert isinstance(results[0], Response) and isinstance(results[1], ProcessorError)
    assert seen == [[b"good", b"bad"]]  # the timed-out request was never run
