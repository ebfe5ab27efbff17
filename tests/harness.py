"""Running real platform processes from tests.

Processes started here share the pytest-django test database and the test Redis, so what a
test writes is what a worker, web server or agent process sees. Every process is started in
its own process group and killed with everything it spawned when its fixture ends.
"""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# Short periods so that liveness, reconcile ticks and draining happen within test timeouts.
FAST_TICKS = {"EAS_HEARTBEAT_SECONDS": "1", "EAS_RECONCILE_SECONDS": "2", "EAS_DRAIN_SECONDS": "0.5",
              "EAS_USAGE_SECONDS": "1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """URL of the database the tests run against (the test database, once it is set up)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def process_env(**overrides: str) -> dict:
    """Environment for a child process that must share this test run's state."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "console.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.CACHES["default"]["LOCATION"],
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "EAS_DATA_DIR": str(settings.DATA_DIR),
        "SECRET_KEY": settings.SECRET_KEY,
        "EAS_JOIN_TOKEN": settings.EAS_JOIN_TOKEN,
        "PYTHONUNBUFFERED": "1",
    }
    env.update(overrides)
    return env


def wait_until(predicate, timeout: float, message, interval: float = 0.1):
    """Poll `predicate` until it returns something truthy; fail with `message` (text, or a
    callable giving it, so it can describe the state at the time of failure) on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {message() if callable(message) else message}")
        time.sleep(interval)


class ManagedProcess:
    """A child process with its output in a log file that failures can show."""

    def __init__(self, name: str, argv: list[str], env: dict, log_dir: Path):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "ManagedProcess":
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        log.close()
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def signal(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass

    def stop(self, timeout: float = 10) -> int | None:
        if self.process is None:
            return None
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait(5)
        self.signal(signal.SIGKILL)  # whatever it spawned and left behind
        return self.process.returncode

    def wait_for_http(self, url: str, timeout: float = 60) -> None:
        def answered():
            if not self.alive():
                raise AssertionError(f"{self.name} exited early:\n{self.output()[-4000:]}")
            try:
                return httpx.get(url, timeout=1).status_code < 500
            except httpx.HTTPError:
                return False

        wait_until(answered, timeout, f"{self.name} did not answer {url}:\n{self.output()[-4000:]}")


def control_worker(log_dir: Path, **env) -> ManagedProcess:
    return ManagedProcess("worker", [
        PYTHON, "-m", "celery", "-A", "console", "worker", "-Q", "control", "--pool", "threads",
        "--concurrency", "4", "--hostname", f"control-test-{os.getpid()}@%h", "--loglevel", "INFO",
        "--without-gossip", "--without-mingle",
    ], process_env(**FAST_TICKS, **env), log_dir).start()


def web_server(log_dir: Path, port: int, name: str = "web", **env) -> ManagedProcess:
    process = ManagedProcess(name, [
        PYTHON, "-m", "uvicorn", "console.asgi:application", "--host", "127.0.0.1",
        "--port", str(port), "--no-access-log",
    ], process_env(**env), log_dir).start()
    process.wait_for_http(f"http://127.0.0.1:{port}/healthz")
    return process


def beat(log_dir: Path, **env) -> ManagedProcess:
    return ManagedProcess("beat", [
        PYTHON, "-m", "celery", "-A", "console", "beat", "--loglevel", "INFO",
        "--schedule", str(log_dir / "celerybeat-schedule"),
    ], process_env(**FAST_TICKS, **env), log_dir).start()


def node_agent(log_dir: Path, name: str, cpu: int, memory_mb: int, **env) -> ManagedProcess:
    """A real node agent; its data dir (instance logs, model cache) is private to it."""
    data_dir = log_dir / f"agent-{name}"
    return ManagedProcess(f"agent-{name}", [
        PYTHON, "manage.py", "nodeagent", "--name", name, "--cpu", str(cpu), "--memory", str(memory_mb),
        "--ip", "127.0.0.1",
    ], process_env(**FAST_TICKS, EAS_AGENT_DATA_DIR=str(data_dir), **env), log_dir).start()
