"""A lean HTTP/1.1 keep-alive client for instance servers: the gateway's hot path.

Why not aiohttp or httpx here: measured on the benchmark's echo service, aiohttp's client
cost the gateway about 100 µs of CPU per call, more than the rest of the gateway together;
this client (asyncio protocol + httptools, the parser uvicorn uses) costs about a quarter of
that. It only has to speak to our own instance servers: requests always carry Content-Length,
responses are framed by Content-Length or chunked encoding (httptools decodes both).

A call either was never sent (`NotSent`: no connection could be opened, so another instance
may take it) or was sent and then failed (`UpstreamLost`, `UpstreamTimeout`: the instance may
have run it, so it is not repeated).
"""
from __future__ import annotations

import asyncio

import httptools

PASSED_HEADERS = (b"content-type", b"content-encoding")


class NotSent(Exception):
    pass


class UpstreamLost(Exception):
    pass


class UpstreamTimeout(Exception):
    pass


class UpstreamConnection(asyncio.Protocol):
    """One keep-alive connection; at most one call on it at a time."""

    def __init__(self):
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []

    def connection_made(self, transport):
        self.transport = transport

    def eof_received(self):
        self.closed = True  # never reused from now on, even before connection_lost runs
        return False

    def connection_lost(self, exc):
        self.closed = True
        self._fail(UpstreamLost(f"the instance closed the connection{f': {exc}' if exc else ''}"))

    def data_received(self, data):
        if self._waiter is None:  # nothing was asked: the connection is out of step, drop it
            self.transport.close()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamLost(f"the instance answered with malformed HTTP: {exc}"))
            self.transport.close()

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes):
        name = name.lower()
        if name in PASSED_HEADERS:
            self._headers.append((name, value))

    def on_body(self, body: bytes):
        self._body.append(body)

    def on_message_complete(self):
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((self.parser.get_status_code(), self._headers, b"".join(self._body),
                               self.parser.should_keep_alive()))

    def send(self, request: bytes, body: bytes) -> asyncio.Future:
        self._headers, self._body = [], []
        self._waiter = asyncio.get_running_loop().create_future()
        if len(body) < 65536:
            self.transport.write(request + body)
        else:
            self.transport.write(request)
            self.transport.write(body)
        return self._waiter

    def time_out(self):
        self._fail(UpstreamTimeout("the instance did not answer in time"))
        self.transport.close()

    def _fail(self, exc: Exception):
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)


class ConnectionPool:
    """Keep-alive connections to one instance, most recently used first.

    Idle connections are dropped after `idle_timeout` seconds, well before the instance server
    closes them (aiohttp: 75 s), so a call is never written into a connection being closed.
    """

    def __init__(self, host: str, port: int, limit: int, connect_timeout: float, read_timeout: float,
                 idle_timeout: float = 30.0):
        self._address = (host, port)
        self._host_header = f"{host}:{port}".encode()
        self._slots = asyncio.Semaphore(limit)
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._idle_timeout = idle_timeout
        self._idle: list[UpstreamConnection] = []
        self._closed = False

    async def request(self, method: str, target: bytes, headers: list[tuple[bytes, bytes]],
                      body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """(status, passed headers, body) of one call; `target` is the path and query."""
        head = [b"%s %s HTTP/1.1\r\nHost: %s\r\n" % (method.encode(), target, self._host_header)]
        for name, value in headers:
            head.append(b"%s: %s\r\n" % (name, value))
        head.append(b"Content-Length: %d\r\n\r\n" % len(body))
        loop = asyncio.get_running_loop()
        async with self._slots:
            connection = self._reusable(loop.time()) or await self._connect(loop)
            waiter = connection.send(b"".join(head), body)
            timer = loop.call_later(self._read_timeout, connection.time_out)
            try:
                status, passed, received, keep_alive = await waiter
            except asyncio.CancelledError:
                connection.transport.close()  # the answer would arrive with nobody waiting
                raise
            finally:
                timer.cancel()
            if keep_alive and not self._closed and not connection.closed:
                connection.idle_since = loop.time()
                self._idle.append(connection)
            else:
                connection.transport.close()
            return status, passed, received

    def close(self) -> None:
        """Close the idle connections now and the busy ones when their calls end."""
        self._closed = True
        while self._idle:
            self._idle.pop().transport.close()

    def _reusable(self, now: float) -> UpstreamConnection | None:
        while self._idle:
            connection = self._idle.pop()
            if (not connection.closed and not connection.transport.is_closing()
                    and now - connection.idle_since < self._idle_timeout):
                return connection
            connection.transport.close()
        return None

    async def _connect(self, loop) -> UpstreamConnection:
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(UpstreamConnection, *self._address), self._connect_timeout)
        except (OSError, TimeoutError) as exc:
            raise NotSent(f"cannot connect to {self._address[0]}:{self._address[1]}: "
                          f"{exc or type(exc).__name__}") from None
        return connection
