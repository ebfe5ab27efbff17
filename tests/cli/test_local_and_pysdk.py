"""`eascmd test` (a service on this machine, no cluster) and the pysdk init → pack → create path of
the seeds' custom Python processors, deployed on the tenant's dedicated resource group."""
import json
import os
import re
import signal
import subprocess
import sys
import tarfile

import httpx
import pytest

from console.cli.commands.pysdk import PLATFORM_PTH
from tests import harness
from tests.runtime.models import PMML_REGRESSION, pmml_formula

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(240)]


def run_in_background(platform, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "console.cli", "-c", str(platform.config), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=harness.ROOT,
                            env={**os.environ, "HOME": str(platform.home)})


def read_until(process: subprocess.Popen, marker: str, timeout: float = 90) -> list[str]:
    """Output lines up to the one containing `marker` (the process keeps running)."""
    lines = []

    def seen():
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"exited {process.wait()} before {marker!r}:\n{''.join(lines)}")
        lines.append(line)
        return marker in line

    harness.wait_until(seen, timeout, lambda: f"no {marker!r} in:\n{''.join(lines)}", interval=0)
    return lines


def test_test_runs_the_service_locally_until_ctrl_c(platform, tmp_path):
    """The seeds' `eascmd test service.json`, with a model path relative to the JSON file."""
    (tmp_path / "model.pmml").write_text(PMML_REGRESSION)
    (tmp_path / "service.json").write_text(json.dumps({
        "name": "local_pmml", "processor": "pmml", "model_path": "./model.pmml", "metadata": {"instance": 1}}))
    port = harness.free_port()
    process = run_in_background(platform, "test", str(tmp_path / "service.json"), "--port", str(port))
    try:
        lines = read_until(process, "[OK] Service is running")
        assert lines[0].startswith("[OK] Starting service [local_pmml] locally: -m services.runtime --service-json")
        assert lines[-1] == (f"[OK] Service is running, listening on http://127.0.0.1:{port}/api/predict/local_pmml "
                             "(Ctrl-C to stop)\n")
        answer = httpx.post(f"http://127.0.0.1:{port}/api/predict/local_pmml", json=[{"x1": 3.0}], timeout=10)
        assert answer.json()[0]["predicted_y"] == pytest.approx(pmml_formula(x1=3.0))
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)


def test_test_exits_non_zero_when_the_model_cannot_load(platform, tmp_path):
    (tmp_path / "service.json").write_text(json.dumps({
        "name": "nothing", "processor": "pmml", "model_path": "./missing.pmml", "metadata": {"instance": 1}}))
    result = platform.eascmd("test", str(tmp_path / "service.json"), "--port", str(harness.free_port()))
    assert result.returncode != 0 and "missing.pmml does not exist" in result.stdout + result.stderr


def test_pysdk_init_pack_and_deploy_on_the_dedicated_group(platform, tmp_path):
    project = tmp_path / "pysdk_demo"
    initialized = platform.ok("pysdk", "init", str(project), timeout=240)
    assert f"[PYSDK] Writing {project / 'app.py'}" in initialized
    assert (project / "ENV" / "bin" / "pip").exists()
    app = json.loads((project / "app.json").read_text())
    assert app == {"name": "pysdk_demo", "processor_entry": "./app.py", "processor_type": "python",
                   "processor_path": str(tmp_path / "pysdk_demo.tar.gz"),
                   "metadata": {"instance": 1, "cpu": 1, "memory": 2000}}
    # A package installed into ENV the way users install theirs (no network: a local module file).
    site_packages = next((project / "ENV" / "lib").glob("python*/site-packages"))
    (site_packages / "demo_weights.py").write_text("W0 = 100\n")
    (project / "app.py").write_text((project / "app.py").read_text().replace(
        "import allspark\n", "import allspark\nimport demo_weights\n").replace('"w0": 100', '"w0": demo_weights.W0'))

    # Step three of the seeds: `ENV/bin/python app.py` serves the template locally.
    port = harness.free_port()
    (project / "app.py").write_text((project / "app.py").read_text().replace(
        "MyProcessor(worker_threads=10)", f"MyProcessor(worker_threads=10, endpoint='127.0.0.1:{port}')"))
    local = subprocess.Popen([str(project / "ENV" / "bin" / "python"), "app.py"], cwd=project,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        harness.wait_until(lambda: _answer(f"http://127.0.0.1:{port}/test", b"10 20"), 60, "local app.py never answered")
        assert _answer(f"http://127.0.0.1:{port}/test", b"10 20") == "True"
        assert _answer(f"http://127.0.0.1:{port}/test", b"10 200") == "False"
    finally:
        os.killpg(local.pid, signal.SIGKILL)
        local.wait()

    packed = platform.ok("pysdk", "pack", str(project))
    assert packed.startswith(f"[PYSDK] Creating package: {tmp_path / 'pysdk_demo.tar.gz'}\n")
    with tarfile.open(tmp_path / "pysdk_demo.tar.gz") as archive:
        names = archive.getnames()
    assert {"app.py", "app.json"} <= set(names) and any(n.endswith("site-packages/demo_weights.py") for n in names)
    assert not any(n.endswith(PLATFORM_PTH) for n in names)

    app["metadata"]["resource"] = platform.group_id
    (project / "app.json").write_text(json.dumps(app))
    created = platform.ok("create", str(project / "app.json"))
    assert created.splitlines()[-1] == "[OK] Service is running"
    instance = platform.instances("pysdk_demo")[0]
    assert instance["HostName"] == "cli-dedicated"
    url = f"http://{instance['InnerIP']}:{instance['InstancePort']}/"
    token = platform.describe("pysdk_demo")["AccessToken"]
    assert (_answer(url, b"2 103", token), _answer(url, b"2 104", token),
            _answer(url, b"2 105", token)) == ("True", "True", "False")
    platform.ok("delete", "pysdk_demo", "-y")


def test_custom_processor_on_the_public_group_is_refused(platform, echo_app, tmp_path):
    (tmp_path / "echo.json").write_text(json.dumps({
        "name": "echo", "processor_type": "python", "processor_entry": "app.py",
        "processor_path": str(echo_app), "metadata": {"instance": 1}}))
    result = platform.eascmd("create", str(tmp_path / "echo.json"))
    assert result.returncode == 1
    assert re.match(r"\[ERROR\] InvalidParameter[.\w]*: Custom processors can only be deployed on a dedicated "
                    r"resource group", result.stderr), result.stderr


def _answer(url: str, body: bytes, token: str = "") -> str | None:
    """The processor's answer, or None while the server is not up or not ready. Deployed
    instances check the service token; `eascmd test` runs without one."""
    try:
        response = httpx.post(url, content=body, headers={"Authorization": token} if token else {}, timeout=5)
    except httpx.HTTPError:
        return None
    return response.text if response.status_code in (200, 400) else None


def test_java_processor_package_deployed_on_the_dedicated_group(platform, tmp_path):
    """The seeds' Java processor: a tar.gz with the jar and its dependency jar, uploaded and created."""
    from tests.runtime.models import build_java_processor

    jar = build_java_processor(tmp_path / "java_processor")
    package = tmp_path / "java_processor.tar.gz"
    with tarfile.open(package, "w:gz") as archive:
        archive.add(jar.parent, arcname=".")
    uploaded = platform.ok("upload", str(package))
    processor_path = re.search(r"oss target path: \[(.+)\]", uploaded).group(1)
    (tmp_path / "java.json").write_text(json.dumps({
        "name": "diy_java", "processor_type": "java", "processor_path": processor_path,
        "processor_entry": "processor.jar", "processor_mainclass": "com.alibaba.eas.TestProcessor",
        "model_config": "cfg", "metadata": {"instance": 1, "cpu": 1, "resource": platform.group_id}}))

    assert platform.ok("create", str(tmp_path / "java.json")).splitlines()[-1] == "[OK] Service is running"
    (instance,) = platform.instances("diy_java")
    url = f"http://{instance['InnerIP']}:{instance['InstancePort']}/"
    token = {"Authorization": platform.describe("diy_java")["AccessToken"]}
    assert httpx.post(url, content=b"hi", headers=token, timeout=10).text == "|cfg|hi"
    failed = httpx.post(url, content=b"boom", headers=token, timeout=10)
    assert (failed.status_code, failed.text) == (400, "bad json format, boom")
    platform.ok("delete", "diy_java", "-y")
