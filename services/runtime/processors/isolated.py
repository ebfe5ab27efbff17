"""Custom processors (Python, C/C++) run in supervised worker processes, not in the server.

User code can segfault, call exit() or leak; running it in child processes keeps the HTTP server,
its queue and /health alive whatever happens. A worker that dies fails only the requests it was
holding (500, so EAS clients retry elsewhere) and is started again at once, with back-off when
it keeps dying during initialize(). Requests that arrive while no worker is up wait in the queue
(and get 408 if the restart outlasts rpc.keepalive).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import sys
from http import HTTPStatus
from pathlib import Path

from . import ipc
from .base import Processor, ProcessorError, Request, Response

log = logging.getLogger("services.runtime.isolated")

EAS_STATUS_CODES = {450}
MAX_RESTART_DELAY_S = 30.0
STOP_TIMEOUT_S = 5.0
WORKER_COMMAND = "from services.runtime.processors.worker import main; main()"


def response_status(code: int) -> int:
    """EAS rule: 0 and 200 mean success, HTTP codes pass through, anything unknown becomes 400."""
    if code == 0:
        return 200
    if code in EAS_STATUS_CODES:
        return code
    try:
        HTTPStatus(code)
    except ValueError:
        return 400
    return code


def _exit_reason(returncode: int | None) -> str:
    if returncode is None:
        return "connection lost"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


class WorkerProcess:
    """One child process and the framed connection to it."""

    def __init__(self, index: int, spec: dict, cwd: Path, env: dict[str, str]) -> None:
        self.index = index
        self._spec = spec
        self._cwd = cwd
        self._env = env
        self._process: asyncio.subprocess.Process | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[int, asyncio.Future] = {}
        self._next_id = ipc.CONTROL_ID
        self._ready: asyncio.Future | None = None
        self._reader_task: asyncio.Task | None = None
        self.exited: asyncio.Future | None = None
        self.info: dict = {}

    @property
    def load(self) -> int:
        return len(self._pending)

    @property
    def alive(self) -> bool:
        return self.exited is not None and not self.exited.done() and self._ready is not None and self._ready.done()

    async def start(self) -> None:
        """Spawn the worker and wait for its initialize() to finish; ProcessorError if it fails."""
        loop = asyncio.get_running_loop()
        parent_sock, child_sock = socket.socketpair()
        env = dict(self._env)
        env[ipc.FD_ENV] = str(child_sock.fileno())
        env[ipc.SPEC_ENV] = json.dumps(self._spec)
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-c", WORKER_COMMAND,
                cwd=self._cwd, env=env, pass_fds=(child_sock.fileno(),), stdin=asyncio.subprocess.DEVNULL,
            )
        finally:
            child_sock.close()
        reader, self._writer = await asyncio.open_unix_connection(sock=parent_sock)
        self._ready = loop.create_future()
        self.exited = loop.create_future()
        self._reader_task = asyncio.ensure_future(self._read_loop(reader))
        try:
            status, body = await self._ready
        except asyncio.CancelledError:
            self._process.kill()
            raise
        if status != 0:
            await self.exited
            raise ProcessorError(f"processor worker failed to start: {body.decode(errors='replace')}", 500)
        self.info = json.loads(body or b"{}")
        log.info("processor worker %d started (pid %d)", self.index, self._process.pid)

    async def call(self, request: Request) -> Response:
        self._next_id += 1
        message_id = self._next_id
        future = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        try:
            self._writer.write(ipc.frame(message_id, 0, request.path.encode(), request.body))
            await self._writer.drain()
            status, body = await future
        except ConnectionError:
            raise ProcessorError("processor worker is not reachable", 500) from None
        finally:
            self._pending.pop(message_id, None)
        return Response(body, response_status(status))

    async def stop(self) -> None:
        """Close the connection (the worker exits on EOF); terminate it if it does not."""
        if self._writer is not None:
            self._writer.close()
        if self._process is None or self._process.returncode is not None:
            return
        try:
            await asyncio.wait_for(self._process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                header = await reader.readexactly(ipc.HEADER.size)
                message_id, status, _, body_length = ipc.HEADER.unpack(header)
                body = await reader.readexactly(body_length) if body_length else b""
                if message_id == ipc.CONTROL_ID:
                    if not self._ready.done():
                        self._ready.set_result((status, body))
                    continue
                future = self._pending.get(message_id)
                if future is not None and not future.done():
                    future.set_result((status, body))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        returncode = await self._process.wait()
        reason = _exit_reason(returncode)
        if not self._ready.done():
            self._ready.set_result((1, f"worker exited during start-up ({reason})".encode()))
        error = ProcessorError(
            f"processor worker crashed ({reason}) while handling this request; it is being restarted", 500
        )
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self.exited.set_result(reason)


class IsolatedProcessor(Processor):
    """A custom processor (`processor_type` python, cpp or java) served by supervised worker processes."""

    def __init__(
        self, kind: str, root: Path, entry: str, model_entry: Path | None, model_config: str, worker_threads: int,
        mainclass: str | None = None,
    ) -> None:
        root_dir = root if root.is_dir() else root.parent
        entry_path = Path(entry)
        if not entry_path.is_absolute():
            entry_path = root_dir / entry_path
        if not entry_path.is_file():
            raise ProcessorError(f"processor_entry: {entry_path} does not exist", 500)
        self.kind = kind
        self._root = root_dir
        self._spec = {
            "kind": kind,
            "root": str(root_dir),
            "entry": str(entry_path.resolve()),
            "model_entry": str(model_entry or ""),
            "model_config": model_config,
            "worker_threads": worker_threads,
            "mainclass": mainclass,
        }
        self._workers: dict[int, WorkerProcess] = {}
        self._worker_up = asyncio.Event()
        self._supervisors: set[asyncio.Task] = set()
        self._stopping = False
        self._turn = 0

    def _environment(self) -> dict[str, str]:
        """The worker's environment: EAS adds the processor's folders to LD_LIBRARY_PATH."""
        env = dict(os.environ)
        library_dirs = [self._root, *(p for p in sorted(self._root.iterdir()) if p.is_dir()), self._root / "ENV" / "lib"]
        existing = env.get("LD_LIBRARY_PATH")
        env["LD_LIBRARY_PATH"] = os.pathsep.join([*(str(p) for p in library_dirs), *([existing] if existing else [])])
        repository_root = str(Path(__file__).resolve().parents[3])
        env["PYTHONPATH"] = os.pathsep.join([repository_root, *filter(None, [env.get("PYTHONPATH")])])
        return env

    @property
    def available(self) -> bool:
        return any(worker.alive for worker in self._workers.values())

    async def start(self) -> None:
        self._worker_up = asyncio.Event()
        first = await self._spawn(0)
        processes = max(1, int(first.info.get("worker_processes", 1)))
        if processes > 1:
            await asyncio.gather(*(self._spawn(index) for index in range(1, processes)))
        log.info("%s processor %s running in %d worker process(es)", self.kind, self._spec["entry"], processes)

    async def predict_async(self, request: Request) -> Response:
        while True:
            workers = [worker for worker in self._workers.values() if worker.alive]
            if workers:
                # least busy worker; ties rotate so idle workers share the load evenly
                self._turn += 1
                rotated = workers[self._turn % len(workers):] + workers[: self._turn % len(workers)]
                return await min(rotated, key=lambda worker: worker.load).call(request)
            self._worker_up.clear()
            await self._worker_up.wait()

    async def stop(self) -> None:
        self._stopping = True
        for task in self._supervisors:
            task.cancel()
        await asyncio.gather(*(worker.stop() for worker in self._workers.values()), return_exceptions=True)

    async def _spawn(self, index: int) -> WorkerProcess:
        worker = WorkerProcess(index, self._spec, self._root, self._environment())
        await worker.start()
        self._workers[index] = worker
        self._worker_up.set()
        task = asyncio.ensure_future(self._supervise(worker))
        self._supervisors.add(task)
        task.add_done_callback(self._supervisors.discard)
        return worker

    async def _supervise(self, worker: WorkerProcess) -> None:
        """Restart a worker when it dies, backing off while it keeps failing to start."""
        reason = await asyncio.shield(worker.exited)
        delay = 0.0
        while not self._stopping:
            log.error("processor worker %d died (%s); restarting", worker.index, reason)
            if self.metrics is not None:
                self.metrics.worker_restarts.inc()
            await asyncio.sleep(delay)
            try:
                await self._spawn(worker.index)
                return
            except (ProcessorError, OSError) as exc:
                reason = str(exc)
                delay = min(max(delay * 2, 1.0), MAX_RESTART_DELAY_S)
