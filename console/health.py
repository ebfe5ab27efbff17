"""Liveness and readiness checks shared by the web server and the gateway.

Readiness means the process can reach everything it needs to do its job: the database, the
Celery broker and the Channels layer. Each check is reported by name so an operator can see
which dependency is down.
"""
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection

from console.celery import app as celery_app

CHECK_TIMEOUT_SECONDS = 2.0


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_SECONDS)


async def _channel_layer_round_trip() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel("readyz.")
    await layer.send(channel, {"type": "readyz.ping"})
    message = await layer.receive(channel)
    if message.get("type") != "readyz.ping":
        raise RuntimeError("channel layer returned an unexpected message")


def check_channel_layer() -> None:
    async_to_sync(_channel_layer_round_trip)()


CHECKS = {
    "database": check_database,
    "broker": check_broker,
    "channel_layer": check_channel_layer,
}


def readiness() -> tuple[bool, dict]:
    """Run every check; return (all ok, per-check report)."""
    report = {}
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            check()
        except Exception as exc:  # a failing dependency is reported, never raised
            report[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        else:
            report[name] = {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}
    return all(item["ok"] for item in report.values()), report
