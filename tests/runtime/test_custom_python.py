"""Custom Python processors: EAS allspark code, run in isolated worker processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.runtime.servers import PYTHON, RuntimeServer, free_port

pytestmark = pytest.mark.timeout(120)


def python_args(app, *extra: str) -> list[str]:
    return ["--processor-type", "python", "--processor-path", str(app), "--processor-entry", "app.py", *extra]


def test_seed_example_runs_unmodified(start_server, python_apps):
    server = start_server(python_args(python_apps.seed))
    ok = server.post(b"10 20", path="/test")
    assert (ok.status_code, ok.text) == (200, "True")
    refused = server.post(b"10 2000", path="/test")
    assert (refused.status_code, refused.text) == (400, "False")
    assert "ready with 10 threads" in server.log()  # MyProcessor(worker_threads=10) took effect


def test_seed_example_with_only_the_import_changed_runs_by_hand(python_apps, log_dir, tmp_path):
    """`python app.py` with `import services.runtime.processor as allspark` and an endpoint."""
    port = free_port()
    source = (python_apps.seed / "app.py").read_text()
    source = source.replace("import allspark", "import services.runtime.processor as allspark")
    source = source.replace("MyProcessor(worker_threads=10)", f"MyProcessor(worker_threads=10, endpoint='127.0.0.1:{port}')")
    (tmp_path / "app.py").write_text(source)
    server = RuntimeServer([], log_dir, "standalone", command=[PYTHON, "app.py"], cwd=tmp_path, port=port)
    try:
        server.wait_ready(30)
        assert server.post(b"2 105").text == "False"
        assert server.post(b"3 10").text == "True"
    finally:
        assert server.stop() == 0


def test_request_context_model_and_env_folder(start_server, python_apps, pmml_model):
    server = start_server(python_args(python_apps.behaviour, "--model", str(pmml_model),
                                      "--model-config", '{"threshold": 3}'))
    details = server.post(b"describe", path="/api/predict/svc/sub/path").json()
    # Called directly at the full path, the processor sees the sub-path, as through the gateway.
    assert details["path"] == "/sub/path"
    assert details["model_path"] == str(pmml_model)
    assert details["model_config"] == '{"threshold": 3}'
    assert details["envlib"] == "from-ENV"
    assert details["cwd"] == str(python_apps.behaviour)
    assert details["pid"] != server.process.pid


def test_worker_processes_each_initialize(start_server, python_apps, monkeypatch):
    monkeypatch.setenv("BEHAVIOUR_PROCESSES", "2")
    server = start_server(python_args(python_apps.behaviour, "--metadata", '{"rpc.worker_threads": 8}'))
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: server.post(b"describe").json(), range(24)))
    pids = {answer["pid"] for answer in answers}
    assert len(pids) == 2
    assert all(answer["initialized_in"] == answer["pid"] for answer in answers)


def test_exceptions_answer_400_with_the_message(start_server, python_apps):
    server = start_server(python_args(python_apps.behaviour))
    response = server.post(b"raise the model is not happy")
    assert (response.status_code, response.text) == (400, "the model is not happy")
    assert "ValueError: the model is not happy" in server.log()
    assert server.post(b"status 404").status_code == 404
    assert server.post(b"status 999").status_code == 400  # unknown codes become 400
    assert server.post(b"status 0").status_code == 200


@pytest.mark.parametrize("fatal", [b"exit", b"segfault"])
def test_a_dying_worker_is_replaced(start_server, python_apps, fatal):
    server = start_server(python_args(python_apps.behaviour))
    assert server.post(b"seen").text == "1"
    crashed = server.post(fatal)
    assert crashed.status_code == 500
    assert "processor worker crashed" in crashed.text
    response = server.post(b"seen")  # waits in the queue while the worker restarts
    assert (response.status_code, response.text) == (200, "1")  # a fresh process
    assert server.metric("eas_runtime_worker_restarts_total") == 1
    assert server.health()[0] == 200


def test_health_is_503_loading_until_initialize_returns(start_server, python_apps, monkeypatch):
    monkeypatch.setenv("BEHAVIOUR_INIT_SECONDS", "2")
    server = start_server(python_args(python_apps.behaviour), ready=False)
    deadline = time.monotonic() + 10
    while (state := server.health()) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert state == (503, {"status": "loading"})
    refused = server.post(b"describe")
    assert refused.status_code == 503
    server.wait_ready(30)
    assert server.post(b"describe").status_code == 200


def test_warm_up_text_file_runs_before_ready(start_server, python_apps, tmp_path):
    warm_up = tmp_path / "warm_up.txt"
    warm_up.write_text("seen\nseen\n\nseen\n")
    server = start_server(python_args(python_apps.behaviour, "--warm-up-data", str(warm_up),
                                      "--warm-up-count", "2", "--metadata", '{"rpc.worker_threads": 1}'))
    assert "warm-up replayed 6 requests" in server.log()
    assert server.post(b"seen").text == "7"


def test_sigterm_finishes_in_flight_requests_then_exits_0(start_server, python_apps):
    server = start_server(python_args(python_apps.behaviour))
    with ThreadPoolExecutor(2) as pool:
        slow = pool.submit(server.post, b"sleep 1.5")
        time.sleep(0.5)
        os.kill(server.process.pid, signal.SIGTERM)
        time.sleep(0.2)
        assert server.health() == (503, {"status": "stopping"})
        response = slow.result(timeout=10)
    assert (response.status_code, response.text) == (200, "slept")
    assert server.wait_exit(15) == 0
    assert "stopped" in server.log()


def test_sigterm_to_the_process_group_still_drains(start_server, python_apps):
    """Node agents signal the whole process group; workers must not die before the server."""
    server = start_server(python_args(python_apps.behaviour))
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(server.post, b"sleep 1")
        time.sleep(0.4)
        os.killpg(server.process.pid, signal.SIGTERM)
        assert slow.result(timeout=10).status_code == 200
    assert server.wait_exit(15) == 0


def test_service_json_with_a_packed_archive(python_apps, tmp_path, log_dir):
    """`eascmd test` style: a service.json with a relative processor archive and nested metadata."""
    subprocess.run(["tar", "-czf", str(tmp_path / "pack.tar.gz"), "-C", str(python_apps.behaviour), "."], check=True)
    service = {
        "name": "pysdk_demo",
        "processor_entry": "./app.py",
        "processor_type": "python",
        "processor_path": "pack.tar.gz",
        "metadata": {"instance": 1, "cpu": 1, "rpc": {"worker_threads": 3}, "rpc.keepalive": 20000},
    }
    (tmp_path / "service.json").write_text(json.dumps(service))
    server = RuntimeServer(["--service-json", "service.json"], log_dir, "service-json", cwd=tmp_path)
    # relative to the file, not the working directory
    server_elsewhere = RuntimeServer(["--service-json", str(tmp_path / "service.json")], log_dir, "service-json-2")
    try:
        server.wait_ready(30)
        server_elsewhere.wait_ready(30)
        assert server.post(b"describe").json()["envlib"] == "from-ENV"
        assert server_elsewhere.post(b"seen").status_code == 200
        assert "worker_threads=3" in server.log() and "keepalive=20000ms" in server.log()
    finally:
        server.stop()
        server_elsewhere.stop()


def test_service_json_rejects_remote_sources(tmp_path, log_dir):
    (tmp_path / "service.json").write_text(json.dumps({
        "processor": "pmml", "model_path": "oss://bucket/model.pmml", "metadata": {"instance": 1},
    }))
    server = RuntimeServer(["--service-json", str(tmp_path / "service.json")], log_dir, "remote-source")
    try:
        assert server.wait_exit(30) == 2
        assert "oss:// sources must be downloaded by the platform's storage module" in server.log()
    finally:
        server.stop()

