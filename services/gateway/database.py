"""All of the gateway's ORM work runs on one dedicated thread: one connection, never the event loop."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections, connection


class DatabaseThread:
    def __init__(self):
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway-db")

    async def run(self, func, *args):
        return await asyncio.get_running_loop().run_in_executor(self._executor, _call, func, args)

    def close(self) -> None:
        self._executor.submit(connection.close)
        self._executor.shutdown(wait=True)


def _call(func, args):
    close_old_connections()  # drops a connection that broke or outlived CONN_MAX_AGE
    return func(*args)
