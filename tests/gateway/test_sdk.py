"""Clients nobody here wrote, through the gateway to real instance servers (`python -m services.runtime`).

The unmodified `eas-prediction` SDK runs from .venv-sdk (it pins an old protobuf) in a
subprocess: token signing with StringRequest, TFRequest and TorchRequest, ENDPOINT_TYPE_DIRECT
through service discovery; and curl with the plain token.
"""
import json
import subprocess
import textwrap

import pytest

from resourcegroups.models import ChargeType, DirectLink, ResourceGroup
from tests import harness
from tests.gateway.conftest import create_service, unique_name, wait_routed

TOKEN = "token-for-tests-1234"
SDK_PYTHON = harness.ROOT / ".venv-sdk" / "bin" / "python"
ECHO_APP = textwrap.dedent('''
    import allspark


    class Echo(allspark.BaseProcessor):
        def process(self, data):
            if data.startswith(b"reject"):
                return b"rejected by the processor", 400
            return b"echo:" + data, 200


    if __name__ == "__main__":
        Echo(worker_threads=4).run()
''')
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]


class RuntimeInstance(harness.ManagedProcess):
    """A real instance server on a free loopback port."""

    def __init__(self, log_dir, name: str, *args: str):
        self.port = harness.free_port()
        self.instance_name = f"{name}-{self.port}"
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(self.instance_name, [harness.PYTHON, "-m", "services.runtime", "--host", "127.0.0.1",
                                              "--port", str(self.port), *args],
                         {**harness.process_env(), "TF_CPP_MIN_LOG_LEVEL": "2"}, log_dir)

    def ready(self) -> "RuntimeInstance":
        self.wait_for_http(f"{self.url}/health", timeout=150)  # 503 while loading, 200 once warm
        return self


def run_sdk(script: str, **arguments) -> dict:
    """Run `script` with the SDK; it gets `args` and prints one JSON line."""
    if not SDK_PYTHON.is_file():
        pytest.fail(f"{SDK_PYTHON} is missing: python3 -m venv .venv-sdk && .venv-sdk/bin/pip install eas-prediction")
    code = "import json, sys\nargs = json.loads(sys.argv[1])\n" + textwrap.dedent(script)
    completed = subprocess.run([str(SDK_PYTHON), "-c", code, json.dumps(arguments)], capture_output=True,
                               text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    """The runtime tests' Keras MLP SavedModel and TorchScript module, built in a subprocess."""
    directory = tmp_path_factory.mktemp("gateway-models")
    subprocess.run([harness.PYTHON, "-c", textwrap.dedent(f"""
        from pathlib import Path
        from tests.runtime.models import build_keras_mlp, build_torchscript
        build_keras_mlp(Path({str(directory)!r}))
        build_torchscript(Path({str(directory)!r}))
    """)], cwd=harness.ROOT, check=True, timeout=180, env={**harness.process_env(), "TF_CPP_MIN_LOG_LEVEL": "2"})
    return directory


@pytest.fixture(scope="module")
def instances(django_db_setup, django_db_blocker, process_log_dir, tmp_path_factory, models_dir):
    """Echo (custom Python), TensorFlow and TorchScript instance servers, started together."""
    app_dir = tmp_path_factory.mktemp("echo-processor")
    (app_dir / "app.py").write_text(ECHO_APP)
    with django_db_blocker.unblock():
        started = {
            "echo": RuntimeInstance(process_log_dir, "echo", "--processor-type", "python", "--processor-path",
                                    str(app_dir), "--processor-entry", "app.py"),
            "tf": RuntimeInstance(process_log_dir, "tf", "--processor", "tensorflow_cpu_2.7", "--model",
                                  str(models_dir / "mnist_saved_model")),
            "torch": RuntimeInstance(process_log_dir, "torch", "--processor", "pytorch_cpu_1.6", "--model",
                                     str(models_dir / "two_heads.pt")),
        }
    try:
        for instance in started.values():
            instance.start()
        yield {name: instance.ready() for name, instance in started.items()}
    finally:
        for instance in started.values():
            instance.stop()


def routed(gateway, account, instance, **fields) -> str:
    name = unique_name(instance.instance_name.split("-")[0])
    create_service(account, name, [instance], **fields)
    wait_routed(gateway, name)
    return name


def test_sdk_string_request_with_token_signing(gateway, account, instances):
    name = routed(gateway, account, instances["echo"])
    result = run_sdk("""
        from eas_prediction import PredictClient, StringRequest
        from eas_prediction.exception import PredictException
        client = PredictClient(args["url"], args["name"])
        client.set_token(args["token"])
        client.init()
        answer = client.predict(StringRequest('[{"sex": 0, "cp": 0}]')).response_data.decode()
        try:
            client.predict(StringRequest("reject this"))
        except PredictException as exc:
            rejected = [exc.code, exc.message.decode()]
        wrong = PredictClient(args["url"], args["name"])
        wrong.set_token("not-the-token")
        wrong.init()
        try:
            wrong.predict(StringRequest("x"))
            refused = None
        except PredictException as exc:
            refused = exc.code
        print(json.dumps({"answer": answer, "rejected": rejected, "refused": refused}))
    """, url=gateway.url, name=name, token=TOKEN)
    assert result == {"answer": 'echo:[{"sex": 0, "cp": 0}]', "rejected": [400, "rejected by the processor"],
                      "refused": 401}


def test_sdk_tf_and_torch_requests_match_the_instance(gateway, account, instances):
    """The gateway answers byte for byte what the instance answers directly."""
    tf_name = routed(gateway, account, instances["tf"])
    torch_name = routed(gateway, account, instances["torch"])
    result = run_sdk("""
        from eas_prediction import PredictClient, TFRequest, TorchRequest
        out = {}
        for via, url in (("gateway", args["gateway"]), ("direct", None)):
            tf = PredictClient(url, args["tf"]) if url else PredictClient(custom_url=args["tf_url"])
            torch = PredictClient(url, args["torch"]) if url else PredictClient(custom_url=args["torch_url"])
            for client in (tf, torch):
                client.set_token(args["token"])
                client.init()
            request = TFRequest("predict_images")
            request.add_feed("images", [1, 784], TFRequest.DT_FLOAT, [0.5] * 784)
            response = tf.predict(request)
            torch_request = TorchRequest()
            torch_request.add_feed(0, [1, 4], TorchRequest.DT_FLOAT, [1.0, 2.0, 3.0, 4.0])
            torch_request.add_feed(1, [1, 4], TorchRequest.DT_FLOAT, [2.0, 2.0, 2.0, 2.0])
            torch_response = torch.predict(torch_request)
            out[via] = {"scores": list(response.get_values("scores")),
                        "shape": list(response.get_tensor_shape("scores")),
                        "product": list(torch_response.get_values(1)),
                        "linear_shape": list(torch_response.get_tensor_shape(0))}
        print(json.dumps(out))
    """, gateway=gateway.url, tf=tf_name, torch=torch_name, token=TOKEN, tf_url=instances["tf"].url,
        torch_url=instances["torch"].url)
    assert result["gateway"] == result["direct"]
    assert result["gateway"]["shape"] == [1, 10] and result["gateway"]["product"] == [2.0, 4.0, 6.0, 8.0]
    assert result["gateway"]["linear_shape"] == [1, 3]


def test_sdk_direct_mode_calls_the_instance_found_by_discovery(gateway, account, instances):
    group = ResourceGroup.objects.create(account=account, name=unique_name("direct"),
                                         kind=ResourceGroup.Kind.DEDICATED, charge_type=ChargeType.POSTPAID,
                                         status=ResourceGroup.Status.READY)
    DirectLink.objects.create(group=group, vswitch_id="vsw-sdk", security_group_id="sg-sdk")
    name = routed(gateway, account, instances["echo"], resource_group_id=group.group_id)
    before = gateway.metric("eas_gateway_endpoint_requests_total", service=name, code="200")
    result = run_sdk("""
        from eas_prediction import PredictClient, StringRequest, ENDPOINT_TYPE_DIRECT
        client = PredictClient(args["url"], args["name"])
        client.set_token(args["token"])
        client.set_endpoint_type(ENDPOINT_TYPE_DIRECT)
        client.init()
        answer = client.predict(StringRequest("direct call")).response_data.decode()
        print(json.dumps({"answer": answer, "backend": client.endpoint.get()}))
    """, url=gateway.url, name=name, token=TOKEN)
    assert result == {"answer": "echo:direct call", "backend": f"127.0.0.1:{instances['echo'].port}"}
    after = gateway.metric("eas_gateway_endpoint_requests_total", service=name, code="200")
    assert after == before  # the call did not go through the gateway


def test_curl_with_the_plain_token(gateway, account, instances, tmp_path):
    name = routed(gateway, account, instances["echo"])
    body = tmp_path / "body"
    for token, status, answer in ((TOKEN, "200", 'echo:[{"money_credit": 3000000}]'),
                                  ("wrong-token", "401", f"authorization failed for service {name}")):
        completed = subprocess.run(
            ["curl", "-sS", "-H", f"Authorization: {token}", "-d", '[{"money_credit": 3000000}]',
             "-o", str(body), "-w", "%{http_code}", f"{gateway.url}/api/predict/{name}"],
            capture_output=True, text=True, timeout=30)
        assert completed.returncode == 0, completed.stderr
        assert (completed.stdout, body.read_text()) == (status, answer)
