"""Framing between the instance server and an isolated processor worker process.

Every message is one fixed header followed by the path and body bytes:
    request  (server -> worker): id, 0,      len(path), len(body) | path | body
    response (worker -> server): id, status, 0,         len(body) | body
Message id 0 is the worker's start-up report: status 0 and a JSON body once initialize() is done,
or a non-zero status and the error text when it failed.
"""

from __future__ import annotations

import struct

HEADER = struct.Struct("!QiII")
CONTROL_ID = 0
FD_ENV = "EAS_RUNTIME_WORKER_FD"
SPEC_ENV = "EAS_RUNTIME_WORKER_SPEC"


def frame(message_id: int, status: int, path: bytes, body: bytes) -> bytes:
    return HEADER.pack(message_id, status, len(path), len(body)) + path + body
