"""The one interface every processor implements, and the request/response it works on.

A processor loads a model, may describe it (the JSON an empty request returns), answers one
request, and optionally answers a batch in one framework call. The server owns everything else:
HTTP, queueing, timeouts, batching, metrics.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

JSON_CONTENT_TYPE = "application/json"
BINARY_CONTENT_TYPE = "application/octet-stream"


@dataclass(slots=True)
class Request:
    body: bytes
    path: str = "/"


@dataclass(slots=True)
class Response:
    body: bytes
    status: int = 200
    content_type: str = BINARY_CONTENT_TYPE
    close_connection: bool = False

    @classmethod
    def json(cls, value: Any, status: int = 200, indent: int | None = None) -> Response:
        return cls(json.dumps(value, indent=indent).encode(), status, JSON_CONTENT_TYPE)

    @classmethod
    def text(cls, message: str, status: int) -> Response:
        return cls(message.encode(), status, "text/plain; charset=utf-8")


class ProcessorError(Exception):
    """The request cannot be served as sent (bad input, processor-reported failure): answered with
    `status`, 400 unless the processor chose another code, and the message as the body."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class Processor:
    """Base class of the built-in processors.

    `load`/`predict`/`close` are blocking and run on the server's worker threads; processors that
    run their code elsewhere (isolated worker processes) override the async `start`/`stop` and
    provide `predict_async` instead of `predict`.
    """

    supports_batching = False
    metrics = None  # the instance's RuntimeMetrics, set by the engine

    def load(self) -> None:
        raise NotImplementedError

    def describe(self) -> dict[str, Any] | None:
        """Model structure returned for GET or an empty body; None when the model has none."""
        return None

    def predict(self, request: Request) -> Response:
        raise NotImplementedError

    def predict_batch(self, requests: list[Request]) -> list[Response | ProcessorError]:
        """Answer several requests with as few framework calls as possible (when supports_batching)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release framework resources at shutdown."""

    def default_warm_up_file(self) -> Path | None:
        """A warm-up file shipped inside the model, used when the service names none."""
        return None

    def warm_up_body(self, record: bytes) -> bytes:
        """Turn one record of a warm-up file into a request body this processor accepts."""
        return record

    def http_api(self, engine):
        """(path prefix, aiohttp handler) of an extra HTTP API this processor serves beside the EAS
        endpoint (TF Serving's REST API), or None."""
        return None

    async def start_grpc(self, engine, host: str, port: int):
        """Start this processor's gRPC API on `port` and return the server; None when it has none."""
        return None

    @property
    def available(self) -> bool:
        """False while the processor cannot take requests (e.g. its worker process is restarting)."""
        return True

    async def start(self) -> None:
        await asyncio.to_thread(self.load)

    async def stop(self) -> None:
        await asyncio.to_thread(self.close)
