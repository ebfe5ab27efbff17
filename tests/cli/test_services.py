"""eascmd against the live platform: the seeds' service commands from create to delete."""
import json
import re
import signal
import subprocess
import sys

import httpx
import pytest

from tests import harness
from tests.runtime.models import PMML_REGRESSION, pmml_formula

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(300)]

RECORD = {"x1": 1.0, "x2": 2.0, "count": 4, "flag": True, "color": "red"}
DESC_FIELDS = ["Status", "ServiceName", "Region", "CreateTime", "UpdateTime", "AccessToken", "TotalInstance",
               "RunningInstance", "PendingInstance", "CPU", "GPU", "Memory", "Image", "Weight", "LatestVersion",
               "CurrentVersion", "Message", "InternetEndpoint", "IntranetEndpoint", "ServiceConfig"]


def write_json(path, data) -> str:
    path.write_text(json.dumps(data, indent=2))
    return str(path)


def pmml_description(model_path, name="pmml_example", **extra) -> dict:
    """The seeds' create example, for the PMML processor, with a local model file."""
    return {"name": name, "generate_token": "true", "model_path": str(model_path), "processor": "pmml",
            "metadata": {"instance": 1, "cpu": 1}, **extra}


def scores(platform, name: str) -> list[float]:
    """What each Running instance of the service answers for RECORD."""
    token = {"Authorization": platform.describe(name)["AccessToken"]}
    return [httpx.post(f"http://{i['InnerIP']}:{i['InstancePort']}/", json=[RECORD], headers=token,
                       timeout=10).json()[0]["predicted_y"]
            for i in platform.instances(name) if i["Status"] == "Running"]


def cell(output: str, key: str) -> str:
    """The value of a `| key | value |` row of a boxed table."""
    match = re.search(rf"^\| {re.escape(key)} +\| (.*?) *\|$", output, re.M)
    assert match, f"no {key} row in:\n{output}"
    return match.group(1)


@pytest.fixture
def pmml_models(tmp_path):
    """Two versions of the regression: the second adds 1000 to every score."""
    first = tmp_path / "v1" / "model.pmml"
    second = tmp_path / "v2" / "model.pmml"
    for path, intercept in ((first, "1.5"), (second, "1001.5")):
        path.parent.mkdir()
        path.write_text(PMML_REGRESSION.replace('intercept="1.5"', f'intercept="{intercept}"'))
    return first, second


def test_pmml_service_from_create_to_delete(platform, pmml_models, tmp_path):
    first, second = pmml_models
    expected = pmml_formula(**RECORD)
    service_json = write_json(tmp_path / "pmml.json", pmml_description(first))

    created = platform.ok("create", service_json)
    lines = created.splitlines()
    assert re.fullmatch(r"\[RequestId\]: [0-9A-F-]{36}", lines[0])
    token = platform.describe("pmml_example")["AccessToken"]
    assert cell(created, "Internet Endpoint").endswith("/api/predict/pmml_example")
    assert cell(created, "Intranet Endpoint").endswith("/api/predict/pmml_example")
    assert cell(created, "Token") == token
    events = [line for line in lines if line.startswith("[OK]")]
    assert events[0] == "[OK] Service [pmml_example] in region [cn-shanghai] is being created"
    assert "[OK] Waiting [Total: 1, Pending: 1, Running: 0]" in events
    assert events[-1] == "[OK] Service is running" and lines[-1] == events[-1]
    assert scores(platform, "pmml_example") == pytest.approx([expected])

    listed = platform.ok("ls")
    assert listed.splitlines()[1].split() == ["|", "SERVICENAME", "|", "REGION", "|", "INSTANCE", "|", "CPU", "|",
                                              "MEMORY", "|", "GPU", "|", "RESOURCE", "|", "VERSION", "|", "STATUS",
                                              "|", "CREATETIME", "|"]
    assert re.search(r"\| pmml_example +\| cn-shanghai +\| 1/1 +\| 1 .*\| public +\| v1 +\| Running ", listed)
    assert platform.ok("list") == listed

    described = platform.ok("desc", "pmml_example")
    for field in DESC_FIELDS:
        cell(described, field)
    assert (cell(described, "Status"), cell(described, "AccessToken"), cell(described, "Image")) == \
        ("Running", token, "pmml")
    assert (cell(described, "LatestVersion"), cell(described, "CurrentVersion"), cell(described, "Weight")) == \
        ("1", "1", "100")
    assert '"processor": "pmml",' in described

    instance = platform.instances("pmml_example")[0]["InstanceName"]
    workers = platform.ok("w", "pmml_example")
    assert workers.startswith("[RequestId]: ") and re.search(rf"\| {instance} +\| cli-public .*\| Running ", workers)
    assert platform.ok("showworkers", "pmml_example") .count(instance) == 1

    # -D only scales: no new version, the running instance stays.
    modified = platform.ok("modify", "pmml_example", "-Dmetadata.instance=2")
    assert modified.splitlines()[1] == "[OK] Service [pmml_example] is being updated"
    platform.wait_for("pmml_example", Status="Running", RunningInstance=2)
    assert instance in {i["InstanceName"] for i in platform.instances("pmml_example")}
    assert platform.describe("pmml_example")["LatestVersion"] == 1

    # A whole new description (replace) with another model: version 2, rolled out.
    v2 = write_json(tmp_path / "v2.json", pmml_description(second, metadata={"instance": 1, "cpu": 1}))
    platform.ok("modify", "pmml_example", "-s", v2, "--replace")
    harness.wait_until(lambda: platform.describe("pmml_example")["CurrentVersion"] == 2
                       and scores(platform, "pmml_example") == pytest.approx([expected + 1000]), 90,
                       lambda: f"version 2 not rolled out: {scores(platform, 'pmml_example')}")
    versions = platform.ok("versions", "pmml_example")
    assert re.search(r"\| 2 +\| .* \| true +\| current +\|", versions) and re.search(r"\| 1 +\| ", versions)

    # Version 1 as it was last scaled: two instances.
    switched = platform.ok("version", "pmml_example", "1")
    assert "[OK] Service [pmml_example] is switching to version 1" in switched
    harness.wait_until(lambda: scores(platform, "pmml_example") == pytest.approx([expected] * 2), 90,
                       lambda: f"did not switch back: {scores(platform, 'pmml_example')}")
    events = platform.ok("events", "pmml_example").splitlines()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[OK\] Service \[pmml_example\] .* being created", events[0])
    assert any(re.search(r"\[OK\] Switching.* version 1$", line) for line in events)
    assert "loaded PMML model" in platform.ok("logs", "pmml_example")
    oldest = sorted(platform.instances("pmml_example"), key=lambda i: i["StartTime"])[0]["InstanceName"]
    logs = platform.ok("logs", "pmml_example", "-i", oldest, "-n", "3").splitlines()
    assert logs[0] == f"[Instance]: {oldest}" and len(logs) == 4

    assert "[OK] Service [pmml_example] is stopping" in platform.ok("stop", "pmml_example")
    platform.wait_for("pmml_example", Status="Stopped")
    assert "[OK] Service [pmml_example] is starting" in platform.ok("start", "pmml_example")
    platform.wait_for("pmml_example", Status="Running", RunningInstance=2)
    assert "[OK] Service [pmml_example] is restarting" in platform.ok("restart", "pmml_example")
    platform.wait_for("pmml_example", Status="Running", CurrentVersion=3)

    # Blue-green: an associated service, then a release that is refused once and then confirmed.
    related = platform.ok("create", service_json, "-r")
    associated = re.search(r"/api/predict/(pmml_example_[0-9a-f]{8})", related).group(1)
    assert related.splitlines()[-1] == "[OK] Service is running"
    refused = platform.eascmd("release", associated, "-w", "20", stdin="n\n")
    assert refused.returncode == 1 and "Nothing was changed" in refused.stderr
    assert refused.stdout.startswith("Confirmed to release this service at weight [20%]? [Y/n]")
    assert platform.describe(associated)["TrafficState"] == "grouping"
    released = platform.ok("release", associated, "-w", "20", stdin="Y\n")
    assert f"[OK] Service [{associated}] is weighted to 20% now" in released
    assert (platform.describe(associated)["Weight"], platform.describe(associated)["TrafficState"]) == (20, "released")
    platform.ok("delete", associated, "-y")

    no_answer = platform.eascmd("delete", "pmml_example")
    assert no_answer.returncode == 1 and "use -y to confirm" in no_answer.stderr
    assert platform.eascmd("delete", "pmml_example", stdin="no\n").returncode == 1
    assert platform.describe("pmml_example")["Status"] == "Running"
    deleted = platform.ok("delete", "pmml_example", stdin="\n")
    assert deleted.startswith("Are you sure to delete the service [pmml_example] in [cn-shanghai]? [Y/n]")
    assert "[OK] Service [pmml_example] was deleted successfully" in deleted
    gone = platform.eascmd("desc", "pmml_example")
    assert gone.returncode == 1
    assert gone.stderr.strip() == "[ERROR] InvalidService.NotFound: Service pmml_example not found in region " \
                                  "cn-shanghai."


def test_failed_deployment_exits_non_zero(platform, tmp_path):
    service_json = write_json(tmp_path / "broken.json", pmml_description(tmp_path / "missing.pmml", name="broken"))
    result = platform.eascmd("create", service_json)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[FAILED] Service failed to start" in result.stdout
    assert result.stderr.startswith("[ERROR] ServiceFailed: service broken failed: instance failed to start")
    platform.ok("delete", "broken", "-y")


def test_invalid_description_and_unknown_service_report_the_server_error(platform, tmp_path):
    bad = write_json(tmp_path / "bad.json", {"name": "Bad Name", "processor": "pmml", "metadata": {}})
    result = platform.eascmd("create", bad)
    assert result.returncode == 1
    assert result.stderr.startswith("[ERROR] InvalidParameter: Invalid service description: ")
    assert "name: must start with a lowercase letter" in result.stderr
    for command in (["stop", "nope"], ["modify", "nope", "-Dmetadata.instance=2"], ["version", "nope", "2"],
                    ["w", "nope"], ["events", "nope"]):
        result = platform.eascmd(*command)
        assert (result.returncode, result.stderr.split(":")[0]) == (1, "[ERROR] InvalidService.NotFound"), command


def test_seed_tensorflow_example(platform, tmp_path):
    """The seeds' mnist_saved_model_example description, its model_path pointed at a local SavedModel."""
    from tests.runtime.models import build_keras_mlp

    model = build_keras_mlp(tmp_path)
    service_json = write_json(tmp_path / "mnist.json", {
        "name": "mnist_saved_model_example", "generate_token": "true", "model_path": str(model),
        "processor": "tensorflow_cpu_1.12", "metadata": {"instance": 1, "cpu": 1}})
    created = platform.ok("create", service_json)
    assert created.splitlines()[-1] == "[OK] Service is running"
    described = platform.ok("desc", "mnist_saved_model_example")
    assert (cell(described, "Status"), cell(described, "Image")) == ("Running", "tensorflow_cpu_1.12")
    instance = platform.instances("mnist_saved_model_example")[0]
    token = {"Authorization": platform.describe("mnist_saved_model_example")["AccessToken"]}
    structure = httpx.post(f"http://{instance['InnerIP']}:{instance['InstancePort']}/", content=b"", headers=token,
                           timeout=10).json()
    assert structure["signature_name"] == "predict_images"
    assert structure["inputs"] == [{"name": "images", "shape": [-1, 784], "type": "DT_FLOAT"}]
    platform.ok("delete", "mnist_saved_model_example", "-y")


def test_ctrl_c_stops_following_but_not_the_deployment(platform, pmml_models, tmp_path):
    """A service too big for any machine waits for room; Ctrl-C leaves it waiting."""
    service_json = write_json(tmp_path / "big.json", pmml_description(
        pmml_models[0], name="too_big", metadata={"instance": 1, "cpu": 32}))
    process = subprocess.Popen([sys.executable, "-m", "console.cli", "-c", str(platform.config), "create",
                                service_json], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=harness.ROOT)
    lines = []
    try:
        while not lines or not lines[-1].startswith("[OK] Waiting"):
            lines.append(process.stdout.readline())
            assert lines[-1], f"eascmd exited {process.wait()}:\n{''.join(lines)}"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert lines[-1] == "[OK] Waiting [Total: 1, Pending: 1, Running: 0]\n"
    assert process.returncode == 130
    assert "Stopped following; the deployment goes on (see: eascmd events too_big)." in err
    assert platform.describe("too_big")["Status"] == "Waiting"
    platform.ok("delete", "too_big", "-y")
