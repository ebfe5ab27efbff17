"""ASGI application of the gateway process.

A plain ASGI callable rather than Django views: the prediction hot path must not pay for
Django's request machinery or touch the database.
"""
import asyncio
import json
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
django.setup()

from console.health import readiness  # noqa: E402  (needs Django set up first)

JSON_HEADERS = [(b"content-type", b"application/json")]


async def send_json(send, status: int, body: dict) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": JSON_HEADERS + [(b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/healthz":
        await send_json(send, 200, {"status": "ok"})
    elif path == "/readyz":
        ready, checks = await asyncio.to_thread(readiness)
        await send_json(send, 200 if ready else 503,
                        {"status": "ready" if ready else "not ready", "checks": checks})
    else:
        await send_json(send, 404, {"message": f"no route for {path}"})
