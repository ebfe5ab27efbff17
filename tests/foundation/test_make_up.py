"""`manage.py up` (what `make up` runs) in the embedded configuration, on free ports."""
import json
import os
import re
import signal
import sqlite3
import stat
import subprocess

import httpx
import pytest

from tests.harness import PYTHON, ROOT, free_port, wait_until

PROCESSES = ["redis", "web", "gateway", "worker", "beat", "agent"]
EXTERNAL_SETTINGS = ["DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY", "EAS_JOIN_TOKEN"]


@pytest.fixture
def embedded_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in EXTERNAL_SETTINGS}
    env.update({
        "EAS_DATA_DIR": str(tmp_path / "var"),
        "EAS_WEB_PORT": str(free_port()),
        "EAS_GATEWAY_PORT": str(free_port()),
        "EAS_EMBEDDED_REDIS_PORT": str(free_port()),
        "EAS_LOCAL_MACHINE_NAME": "up-test-node",
        "EAS_HEARTBEAT_SECONDS": "1",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def start_up(env, log_path):
    with open(log_path, "wb") as log:
        return subprocess.Popen([PYTHON, "manage.py", "up"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop_up(process, log_path) -> list[int]:
    """SIGTERM the supervisor only; it must stop its children itself."""
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=40) == 0, log_path.read_text()[-3000:]
    return [int(pid) for pid in re.findall(r"started \(pid (\d+)\)", log_path.read_text())]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie waiting to be reaped is not running
        return fh.read().split()[2] != "Z"


def wait_for_platform(env, process, log_path):
    def ok(port, path):
        if process.poll() is not None:
            raise AssertionError(f"up exited early:\n{log_path.read_text()[-4000:]}")
        try:
            return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    for port in (env["EAS_WEB_PORT"], env["EAS_GATEWAY_PORT"]):
        wait_until(lambda p=port: ok(p, "/healthz") and ok(p, "/readyz"), 120,
                   f"port {port} not ready:\n{log_path.read_text()[-4000:]}", interval=0.5)


def registered_machines(data_dir) -> list[tuple[str, str]]:
    with sqlite3.connect(data_dir / "eas.sqlite3") as db:
        return db.execute("SELECT name, status FROM resourcegroups_machine").fetchall()


def test_up_starts_every_process_and_stops_them_cleanly(embedded_env, tmp_path):
    data_dir = tmp_path / "var"
    log_path = tmp_path / "up.log"
    process = start_up(embedded_env, log_path)
    try:
        wait_for_platform(embedded_env, process, log_path)
        wait_until(lambda: registered_machines(data_dir) == [("up-test-node", "Ready")], 60,
                   "local node agent did not join", interval=0.5)
        readyz = httpx.get(f"http://127.0.0.1:{embedded_env['EAS_GATEWAY_PORT']}/readyz").json()
        assert {"database", "broker", "channel_layer"} <= set(readyz["checks"])
        assert all(check["ok"] for check in readyz["checks"].values())
        wait_until(lambda: "Platform is up" in log_path.read_text(), 30, "no start-up banner")
    finally:
        pids = stop_up(process, log_path)

    output = log_path.read_text()
    assert "Console:  http://127.0.0.1:" in output
    for name in PROCESSES:
        assert re.search(rf"^{name}\s*\| started", output, re.M), f"{name} not started"
        assert (data_dir / "log" / f"{name}.log").stat().st_size > 0
    assert len(pids) == len(PROCESSES)
    assert not [pid for pid in pids if pid_alive(pid)], "children left running after stop"

    credentials_path = data_dir / "bootstrap.json"
    assert stat.S_IMODE(credentials_path.stat().st_mode) == 0o600
    credentials = json.loads(credentials_path.read_text())
    assert {"console_url", "gateway_url", "username", "password",
            "access_key_id", "access_key_secret"} <= set(credentials)
    assert credentials["console_url"] == f"http://127.0.0.1:{embedded_env['EAS_WEB_PORT']}"

    # Running it again keeps the same admin and data.
    process = start_up(embedded_env, tmp_path / "up-again.log")
    try:
        wait_for_platform(embedded_env, process, tmp_path / "up-again.log")
    finally:
        stop_up(process, tmp_path / "up-again.log")
    assert "Kept admin account 'admin'" in (tmp_path / "up-again.log").read_text()
    assert json.loads(credentials_path.read_text())["password"] == credentials["password"]
    with sqlite3.connect(data_dir / "eas.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM auth_user").fetchone() == (1,)
    assert registered_machines(data_dir) == [("up-test-node", "Ready")]
