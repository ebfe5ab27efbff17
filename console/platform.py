"""The processes that make up one platform installation, as `make up` starts them."""
import socket
import sys
import time
from pathlib import Path

from django.conf import settings

from console import config
from console.supervisor import ProcessSpec


def bind_host() -> str:
    return config.env("EAS_BIND_HOST", "127.0.0.1")


def local_machine_name() -> str:
    return config.env("EAS_LOCAL_MACHINE_NAME") or f"{socket.gethostname()}-local"


def platform_processes() -> list[ProcessSpec]:
    python = sys.executable
    data_dir = Path(settings.DATA_DIR)
    specs = []
    if config.uses_embedded_redis():
        redis_dir = data_dir / "redis"
        redis_dir.mkdir(exist_ok=True)
        specs.append(ProcessSpec("redis", [
            "redis-server", "--bind", "127.0.0.1", "--port", str(config.embedded_redis_port()),
            "--dir", str(redis_dir), "--save", "60", "1", "--appendonly", "no",
        ], infrastructure=True))
    specs += [
        ProcessSpec("web", [python, "-m", "uvicorn", "console.asgi:application", "--lifespan", "off",
                            "--host", bind_host(), "--port", str(settings.EAS_WEB_PORT), "--no-access-log"]),
        ProcessSpec("gateway", [python, "-m", "uvicorn", "services.gateway.app:application",
                                "--host", bind_host(), "--port", str(settings.EAS_GATEWAY_PORT),
                                "--no-access-log"]),
        ProcessSpec("worker", [python, "-m", "celery", "-A", "console", "worker", "-Q", "control",
                               "--pool", "threads", "--concurrency", "8", "--hostname", "control@%h",
                               "--loglevel", "INFO"]),
        ProcessSpec("beat", [python, "-m", "celery", "-A", "console", "beat", "--loglevel", "INFO",
                             "--schedule", str(data_dir / "celerybeat-schedule")]),
        ProcessSpec("agent", [python, "manage.py", "nodeagent", "--name", local_machine_name()]),
    ]
    return specs


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False
