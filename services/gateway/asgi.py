"""Small ASGI helpers: reading a bounded body and sending whole responses."""
from __future__ import annotations

import json

TEXT = b"text/plain; charset=utf-8"
JSON = b"application/json"


class BodyTooLarge(Exception):
    pass


async def read_body(receive, limit: int) -> bytes:
    """The request body; BodyTooLarge as soon as it grows past `limit` bytes."""
    message = await receive()
    body = message.get("body", b"")
    if not message.get("more_body"):
        if len(body) > limit:
            raise BodyTooLarge()
        return body
    chunks, size = [body], len(body)
    while message.get("more_body"):
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


async def send_bytes(send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def send_text(send, status: int, message: str) -> None:
    await send_bytes(send, status, message.encode(), [(b"content-type", TEXT)])


async def send_json(send, status: int, document: dict) -> None:
    await send_bytes(send, status, json.dumps(document).encode(), [(b"content-type", JSON)])
