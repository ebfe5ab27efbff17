"""The instance's HTTP server (aiohttp) and process lifecycle.

Paths:
  GET  /health   200 {"status": "ready"} once loaded and warmed up, else 503 {"status": <stage>}
  GET  /metrics  Prometheus text format
  /v1/models/... TF Serving REST API (TensorFlow processors only)
  anything else  the prediction endpoint: POST body -> processor; GET or an empty body -> model
                 structure JSON when the processor has one. The gateway forwards
                 /api/predict/<service>/<sub> as /<sub>; clients calling the instance directly
                 (VPC direct mode) use the full path, which is read the same way. The sub-path
                 reaches custom processors.

With a service token (env EAS_SERVICE_TOKEN, set by the node agent; not a flag, to keep it out
of `ps`), prediction calls must carry it, plainly or as the eas-prediction SDK's signature,
exactly as at the gateway; otherwise 401.

The port is bound before the model loads, so /health answers 503 "loading" from the first second.
SIGTERM/SIGINT: /health turns 503 "stopping", new requests get 503, queued and running requests
finish, then the process exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from services.gateway.auth import is_signature, signature_matches, token_matches

from .config import ConfigError, RuntimeConfig
from .engine import Engine
from .metrics import RuntimeMetrics
from .processors.base import Processor, ProcessorError, Request
from .sources import local_path
from .warmup import WarmUpError

log = logging.getLogger("services.runtime.server")

MAX_BODY_BYTES = 512 * 1024 * 1024
EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
PREDICT_PREFIX = "/api/predict/"


def sub_path(path: str) -> str:
    """`/api/predict/<service>/<sub>` → `/<sub>`; any other path is already a sub-path."""
    if not path.startswith(PREDICT_PREFIX):
        return path
    _, _, rest = path[len(PREDICT_PREFIX):].partition("/")
    return "/" + rest


class Instance:
    """HTTP front of one engine; the processor's extra API (if any) is bound once it exists."""

    def __init__(self, engine: Engine, token: str = "") -> None:
        self.engine = engine
        self.token = token
        self.metrics = engine.metrics
        self.extra_prefix: str | None = None
        self.extra_handler = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_get("/health", self.health)
        app.router.add_get("/metrics", self.metrics_text)
        app.router.add_route("*", "/{tail:.*}", self.predict)
        return app

    async def health(self, _: web.Request) -> web.Response:
        if self.engine.ready:
            return web.json_response({"status": "ready"})
        return web.json_response({"status": self.engine.health_status}, status=503)

    async def metrics_text(self, _: web.Request) -> web.Response:
        return web.Response(body=self.metrics.render(), headers={"Content-Type": self.metrics.content_type})

    async def predict(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        body = await request.read()
        if self.token and not self.authorized(request, body):
            return web.Response(status=401, text="Unauthorized: wrong or missing token")
        if self.extra_prefix is not None and request.path.startswith(self.extra_prefix):
            return await self.extra_handler(request)
        result = await self.engine.handle(Request(body, sub_path(request.path)))
        response = web.Response(body=result.body, status=result.status, headers={"Content-Type": result.content_type})
        if result.close_connection:
            response.force_close()
        self.metrics.observe_request(result.status, len(body), len(result.body), time.perf_counter() - started)
        return response


    def authorized(self, request: web.Request, body: bytes) -> bool:
        header = request.headers.get("Authorization", "")
        if is_signature(header):
            return signature_matches(header, [self.token], verb=request.method, body=body,
                                     content_type=request.headers.get("Content-Type", ""),
                                     date=request.headers.get("Date", ""),
                                     resources=[request.path, request.path_qs])
        return token_matches(header, [self.token])


async def serve(config: RuntimeConfig, factory: Callable[[], Processor] | None = None) -> int:
    """Run one instance until SIGTERM/SIGINT; returns the process exit code.

    `factory` builds the processor; by default it comes from the configuration (processor code or
    custom processor type), with archives unpacked into a private temporary directory.
    """
    with tempfile.TemporaryDirectory(prefix="eas-runtime-") as workdir:
        if factory is None:
            from .processors import create_processor

            def factory() -> Processor:
                return create_processor(config, Path(workdir))

        try:
            warm_up_file = None
            if config.warm_up_data_path:
                warm_up_file = local_path("warm_up_data_path", config.warm_up_data_path, config.base_dir)
        except ConfigError as exc:
            log.error("%s", exc)
            return EXIT_CONFIG
        return await _run(config, factory, warm_up_file)


async def _run(config: RuntimeConfig, factory: Callable[[], Processor], warm_up_file: Path | None) -> int:
    loop = asyncio.get_running_loop()
    engine = Engine(config.rpc, RuntimeMetrics(), warm_up_file, config.warm_up_count)
    instance = Instance(engine, os.environ.get("EAS_SERVICE_TOKEN", ""))
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    runner = web.AppRunner(instance.app(), access_log=None, handle_signals=False,
                           shutdown_timeout=config.rpc.keepalive_s + 2)
    await runner.setup()
    try:
        await web.TCPSite(runner, config.host, config.port, backlog=1024, reuse_address=True).start()
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", config.host, config.port, exc)
        await runner.cleanup()
        return EXIT_FAILED
    log.info("listening on http://%s:%d (network I/O runs on one event loop; rpc.io_threads=%d is not needed)",
             config.host, config.port, config.rpc.io_threads)

    grpc_servers = []

    async def start() -> None:
        processor = await engine.create(factory)
        api = processor.http_api(engine)
        if api is not None:
            instance.extra_prefix, instance.extra_handler = api
        if config.grpc_port:
            server = await processor.start_grpc(engine, config.host, config.grpc_port)
            if server is None:
                log.warning("--grpc-port ignored: processor %s has no gRPC API", type(processor).__name__)
            else:
                grpc_servers.append(server)
                log.info("gRPC API on %s:%d", config.host, config.grpc_port)
        await engine.start()

    exit_code = EXIT_OK
    starting = asyncio.ensure_future(start())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait([starting, stopping], return_when=asyncio.FIRST_COMPLETED)
    if starting.done() and starting.exception() is not None:
        exc = starting.exception()
        if isinstance(exc, ConfigError):
            log.error("cannot start: %s", exc)
            exit_code = EXIT_CONFIG
        elif isinstance(exc, ProcessorError | WarmUpError | OSError):
            log.error("cannot start: %s", exc)
            exit_code = EXIT_FAILED
        else:
            log.error("cannot start", exc_info=exc)
            exit_code = EXIT_FAILED
    elif not starting.done():
        log.info("stop requested while %s; abandoning start-up", engine.stage.value)
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
    else:
        await stopping

    log.info("stopping: finishing %d running and %d queued requests", engine.dispatcher.running, engine.dispatcher.queued)
    grace_s = config.rpc.keepalive_s + 1
    await asyncio.gather(engine.drain(grace_s), *(server.stop(grace_s) for server in grpc_servers))
    await runner.cleanup()
    await engine.stop()
    stopping.cancel()
    log.info("stopped")
    return exit_code
