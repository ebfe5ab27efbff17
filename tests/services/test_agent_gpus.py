"""The node agent gives each GPU instance GPUs of its own and hides GPUs from the others.

Real instance processes (a small Python program that records what CUDA_VISIBLE_DEVICES it was
started with); no GPU is needed to check which devices each one is handed.
"""
import sys
import time

import pytest

from services.agent import InstanceSupervisor

pytestmark = pytest.mark.timeout(60)

RECORD_DEVICES = ("import os, pathlib, sys, time; "
                  "pathlib.Path(sys.argv[1]).write_text(os.environ['CUDA_VISIBLE_DEVICES']); time.sleep(60)")


@pytest.fixture
def supervisor(tmp_path):
    reports = []
    instances = InstanceSupervisor(tmp_path / "agent", lambda instance_id, status, **fields:
                                   reports.append((instance_id, status, fields.get("message", ""))),
                                   usage_seconds=3600, gpu_count=2)
    instances.reports = reports
    yield instances
    instances.shutdown()


def start(supervisor, tmp_path, instance_id: int, gpu: int):
    record = tmp_path / f"devices-{instance_id}"
    port = supervisor.start(instance_id, f"svc-{instance_id}", lambda port: [sys.executable, "-c", RECORD_DEVICES,
                                                                             str(record)],
                            startup_timeout=60, gpu=gpu)
    return port, record


def devices_seen(record) -> str:
    deadline = time.monotonic() + 20
    while not record.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return record.read_text()


def wait_terminated(supervisor, instance_id: int) -> None:
    deadline = time.monotonic() + 20
    while (instance_id, "Terminated", "stopped") not in supervisor.reports and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (instance_id, "Terminated", "stopped") in supervisor.reports


def test_instances_get_distinct_gpus_and_cpu_instances_none(supervisor, tmp_path):
    _, first = start(supervisor, tmp_path, 1, gpu=1)
    _, second = start(supervisor, tmp_path, 2, gpu=1)
    _, cpu_only = start(supervisor, tmp_path, 3, gpu=0)
    assert {devices_seen(first), devices_seen(second)} == {"0", "1"}
    assert devices_seen(cpu_only) == ""


def test_no_free_gpu_fails_the_instance_and_a_stopped_one_gives_its_gpus_back(supervisor, tmp_path):
    _, pair = start(supervisor, tmp_path, 1, gpu=2)
    assert devices_seen(pair) == "0,1"

    port, never = start(supervisor, tmp_path, 2, gpu=1)
    assert port is None and not never.exists()
    assert (2, "Failed", "needs 1 GPU, this machine has 0 free") in supervisor.reports

    supervisor.stop(1)
    wait_terminated(supervisor, 1)
    _, again = start(supervisor, tmp_path, 3, gpu=2)
    assert devices_seen(again) == "0,1"
