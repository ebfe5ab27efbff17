"""Instance server processes for tests: real `python -m services.runtime` subprocesses on loopback."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SDK_PYTHON = REPO_ROOT / ".venv-sdk" / "bin" / "python"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RuntimeServer:
    """One instance server process; its stdout/stderr go to `log_path`."""

    def __init__(self, args: list[str], log_dir: Path, name: str, grpc: bool = False, cwd: Path | None = None,
                 command: list[str] | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.grpc_port = free_port() if grpc else 0
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{name}-{self.port}.log"
        if command is None:
            command = [PYTHON, "-m", "services.runtime", "--host", "127.0.0.1", "--port", str(self.port), *args]
            if grpc:
                command += ["--grpc-port", str(self.grpc_port)]
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, cwd=cwd or REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=env, start_new_session=True)

    def health(self) -> tuple[int, dict] | None:
        try:
            response = httpx.get(f"{self.url}/health", timeout=2)
        except httpx.HTTPError:
            return None
        return response.status_code, response.json()

    def wait_ready(self, timeout: float = 90) -> RuntimeServer:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode}:\n{self.log()}")
            state = self.health()
            if state is not None and state[0] == 200:
                return self
            time.sleep(0.1)
        raise AssertionError(f"server not ready within {timeout}s:\n{self.log()}")

    def wait_exit(self, timeout: float = 30) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"server still running after {timeout}s:\n{self.log()}") from None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def metrics(self) -> str:
        return httpx.get(f"{self.url}/metrics", timeout=5).text

    def metric(self, name: str) -> float:
        """Value of one unlabelled sample in /metrics."""
        for line in self.metrics().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise AssertionError(f"metric {name} not found")

    def post(self, body: bytes, path: str = "/", timeout: float = 30, **kwargs) -> httpx.Response:
        return httpx.post(self.url + path, content=body, timeout=timeout, **kwargs)

    def raw_post(self, body: bytes, path: str = "/", timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
        """POST on a fresh connection, returning status, lower-cased headers and body."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("POST", path, body=body)
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    def stop(self) -> int:
        """SIGTERM, then SIGKILL for the whole process group if it does not exit in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                pass
        self.kill_group()
        return self.process.returncode

    def kill_group(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()


def json_body(response: httpx.Response):
    assert response.status_code == 200, (response.status_code, response.text)
    return json.loads(response.content)
