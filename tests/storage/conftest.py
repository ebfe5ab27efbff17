"""Fixtures for the storage tests: private data/cache dirs, a counting HTTP server, moto's S3."""
import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest


@pytest.fixture
def storage(settings, tmp_path):
    """Embedded store and cache in this test's own directories, with generous limits."""
    settings.DATA_DIR = tmp_path / "data"
    settings.EAS_STORAGE_CACHE_DIR = str(tmp_path / "cache")
    settings.EAS_REGION = "cn-shanghai"
    settings.EAS_STORAGE_TIMEOUT_SECONDS = 5
    settings.EAS_STORAGE_MAX_OBJECT_BYTES = 64 << 20
    settings.EAS_STORAGE_MAX_EXTRACTED_BYTES = 64 << 20
    settings.EAS_STORAGE_MAX_ARCHIVE_MEMBERS = 1000
    settings.EAS_OSS_ACCESS_KEY_ID = ""
    settings.EAS_OSS_ACCESS_KEY_SECRET = ""
    return SimpleNamespace(settings=settings, data=tmp_path / "data", cache=tmp_path / "cache")


def leftovers(cache: Path) -> list[str]:
    """Extracted trees and temporary files in the cache: a failed fetch must leave none."""
    return sorted(str(p.relative_to(cache)) for sub in ("models", "tmp") if (cache / sub).is_dir()
                  for p in (cache / sub).iterdir())


@dataclass
class Route:
    body: bytes
    status: int = 200
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    announced_length: int | None = None


class CountingServer:
    """A local HTTP server whose routes a test sets, counting every request by method and path."""

    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.requests: Counter = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_HEAD(self):
                self._answer(send_body=False)

            def do_GET(self):
                self._answer(send_body=True)

            def _answer(self, send_body: bool):
                path = self.path.split("?")[0]
                server.requests[(self.command, path)] += 1
                route = server.routes.get(path)
                if route is None:
                    self.send_error(404, "Not Found")
                    return
                time.sleep(route.delay)
                self.send_response(route.status)
                length = route.announced_length if route.announced_length is not None else len(route.body)
                self.send_header("Content-Length", str(length))
                self.send_header("ETag", route.headers.get("ETag", f'"{hashlib.sha256(route.body).hexdigest()[:16]}"'))
                for name, value in route.headers.items():
                    if name != "ETag":
                        self.send_header(name, value)
                self.end_headers()
                if send_body:
                    self.wfile.write(route.body)
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def add(self, path: str, body: bytes, **kwargs) -> str:
        self.routes[path] = Route(body, **kwargs)
        return self.base + path

    def gets(self, path: str) -> int:
        return self.requests[("GET", path)]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def http_server():
    server = CountingServer()
    yield server
    server.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's S3 implementation as a real HTTP server (`moto_server`), standing in for OSS."""
    port = free_port()
    process = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=10)


@pytest.fixture
def s3(moto_endpoint, storage):
    """A boto3 client on the moto server, and the platform configured with the same AccessKey."""
    storage.settings.EAS_OSS_ACCESS_KEY_ID = "test-key-id"
    storage.settings.EAS_OSS_ACCESS_KEY_SECRET = "test-key-secret"
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                          aws_access_key_id="test-key-id", aws_secret_access_key="test-key-secret")
    return SimpleNamespace(client=client, endpoint=moto_endpoint)
