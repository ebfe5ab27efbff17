"""Isolated worker process running custom processor code (started by `isolated.WorkerProcess`).

The instance server starts it with a socket (fd in EAS_RUNTIME_WORKER_FD) and a JSON spec
(EAS_RUNTIME_WORKER_SPEC). A C/C++ library is loaded with ctypes, a Java class in a JVM started in
the worker (JPype); Python code is run as its own
`__main__` so its `MyProcessor(...).run()` line decides worker_threads/worker_processes, exactly as
under EAS. The worker then answers framed requests on `worker_threads` threads until the server
closes the socket. If user code crashes the process, only this worker dies.
"""

from __future__ import annotations

import json
import logging
import os
import runpy
import signal
import socket
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NoReturn

from . import ipc

log = logging.getLogger("services.runtime.worker")
COMPAT_DIR = Path(__file__).resolve().parent.parent / "compat"

_hosted: dict | None = None  # the spec and socket while running as a platform worker


def hosted() -> bool:
    return _hosted is not None


class _Channel:
    """Blocking side of the framed socket; replies may come from any worker thread."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._reader = sock.makefile("rb")
        self._lock = threading.Lock()

    def send(self, message_id: int, status: int, body: bytes) -> None:
        data = ipc.frame(message_id, status, b"", body)
        with self._lock:
            self._sock.sendall(data)

    def receive(self) -> tuple[int, str, bytes] | None:
        header = self._reader.read(ipc.HEADER.size)
        if len(header) < ipc.HEADER.size:
            return None
        message_id, _, path_length, body_length = ipc.HEADER.unpack(header)
        payload = self._reader.read(path_length + body_length)
        if len(payload) < path_length + body_length:
            return None
        return message_id, payload[:path_length].decode(errors="replace"), payload[path_length:]


def _serve(handler: Callable[[bytes, str], tuple[int, bytes]], worker_threads: int, info: dict) -> None:
    """Report ready, then answer requests until the server goes away; never returns."""
    channel: _Channel = _hosted["channel"]
    channel.send(ipc.CONTROL_ID, 0, json.dumps(info).encode())
    log.info("worker %d ready with %d threads", os.getpid(), worker_threads)

    def answer(message_id: int, path: str, body: bytes) -> None:
        try:
            status, data = handler(body, path)
        except Exception as exc:
            log.exception("processor raised while handling a request")
            status, data = 400, str(exc).encode()
        try:
            channel.send(message_id, status, data)
        except OSError:
            os._exit(0)  # the server is gone

    with ThreadPoolExecutor(max_workers=worker_threads, thread_name_prefix="eas-processor") as pool:
        while (message := channel.receive()) is not None:
            pool.submit(answer, *message)
        os._exit(0)


def _fail(message: str) -> NoReturn:
    _hosted["channel"].send(ipc.CONTROL_ID, 1, message.encode())
    os._exit(3)


def serve_python(processor) -> None:
    """BaseProcessor.run() inside a worker: initialize, then serve `process()`."""
    from ..processor import set_request_path

    spec = _hosted["spec"]
    processor.model_path = spec["model_entry"]
    processor.model_config = spec["model_config"]
    try:
        processor.initialize()
    except Exception as exc:
        log.exception("initialize() failed")
        _fail(f"initialize() failed: {exc}")

    def handle(body: bytes, path: str) -> tuple[int, bytes]:
        set_request_path(path)
        result = processor.process(body)
        if not isinstance(result, tuple) or len(result) != 2:
            raise TypeError(f"process() must return (data, status), got {type(result).__name__}")
        data, status = result
        if isinstance(data, str):
            data = data.encode()
        return int(status), bytes(data or b"")

    threads = max(1, int(getattr(processor, "worker_threads", 5) or 1))
    processes = max(1, int(getattr(processor, "worker_processes", 1) or 1))
    _serve(handle, threads, {"worker_processes": processes})


def serve_standalone(processor) -> None:
    """BaseProcessor.run() started by hand (`python app.py`): a full instance server on `endpoint`."""
    import asyncio

    from ..__main__ import LOG_FORMAT
    from ..config import RuntimeConfig
    from ..server import serve

    main = sys.modules["__main__"]
    script = Path(getattr(main, "__file__", "") or "")
    if not script.is_file():
        raise RuntimeError("run() must be called from a script file, e.g. `python app.py`")
    host, _, port = (processor.endpoint or "0.0.0.0:8080").rpartition(":")
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, datefmt="%Y-%m-%d %H:%M:%S", stream=sys.stdout)
    config = RuntimeConfig(
        processor_type="python",
        processor_path=str(script.parent),
        processor_entry=script.name,
        metadata={"rpc.worker_threads": processor.worker_threads * max(1, processor.worker_processes)},
        host=host or "0.0.0.0",
        port=int(port),
    )
    sys.exit(asyncio.run(serve(config)))


def _run_python(spec: dict) -> None:
    entry = Path(spec["entry"])
    root = Path(spec["root"])
    _extend_sys_path(root, entry)
    sys.argv = [str(entry)]
    namespace = runpy.run_path(str(entry), run_name="__main__")
    # The script did not call run(): serve the processor class it defines, with default arguments.
    from ..processor import BaseProcessor

    classes = [
        value for value in namespace.values()
        if isinstance(value, type) and issubclass(value, BaseProcessor) and value is not BaseProcessor
        and value.__module__ == "__main__"
    ]
    if len(classes) != 1:
        _fail(f"{entry.name} neither calls run() nor defines exactly one BaseProcessor subclass")
    serve_python(classes[0]())


def _extend_sys_path(root: Path, entry: Path) -> None:
    """User code first, then the package's ENV folder (EAS `pysdk pack` layout)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for directory in reversed([COMPAT_DIR, entry.parent, root]):
        sys.path.insert(0, str(directory))
    for site_packages in sorted(root.glob("ENV/lib/python*/site-packages")):
        if site_packages.parent.name == version:
            sys.path.insert(3, str(site_packages))
        else:
            log.warning("%s was built for %s; this runtime is %s: only pure-Python packages will work",
                        site_packages, site_packages.parent.name, version)
            sys.path.append(str(site_packages))


def _run_native(spec: dict) -> None:
    from .native import NativeProcessor, NativeProcessorError

    try:
        native = NativeProcessor(Path(spec["entry"]), spec["model_entry"], spec["model_config"])
    except NativeProcessorError as exc:
        _fail(str(exc))
    _serve(lambda body, _path: native.process(body), spec["worker_threads"], {"worker_processes": 1})


def _run_java(spec: dict) -> None:
    from .java import JavaProcessor, JavaProcessorError

    try:
        java = JavaProcessor(Path(spec["entry"]), Path(spec["root"]), spec["mainclass"], spec["model_entry"],
                             spec["model_config"])
    except JavaProcessorError as exc:
        _fail(str(exc))
    _serve(lambda body, _path: java.process(body), spec["worker_threads"], {"worker_processes": 1})


RUNNERS = {"cpp": _run_native, "java": _run_java, "python": _run_python}


def main() -> None:
    global _hosted
    # The server decides when workers stop (it closes their socket): agents signal the whole
    # process group, and workers must outlive that signal until in-flight requests are answered.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.stdout.reconfigure(line_buffering=True)
    from ..__main__ import LOG_FORMAT

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, datefmt="%Y-%m-%d %H:%M:%S", stream=sys.stdout)
    spec = json.loads(os.environ.pop(ipc.SPEC_ENV))
    sock = socket.socket(fileno=int(os.environ.pop(ipc.FD_ENV)))
    _hosted = {"spec": spec, "channel": _Channel(sock)}
    try:
        RUNNERS[spec["kind"]](spec)
    except SystemExit:
        raise
    except BaseException as exc:
        log.exception("processor failed to start")
        _fail(f"{type(exc).__name__}: {exc}")

