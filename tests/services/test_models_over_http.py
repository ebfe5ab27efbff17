"""Real models fetched over HTTP by the agent: a TensorFlow SavedModel archive served locally
predicts like TensorFlow itself; a malicious archive fails the deployment with the reason."""
import functools
import http.server
import io
import tarfile
import threading

import httpx
import numpy as np
import pytest

from resourcegroups.groups import public_group
from resourcegroups.models import Machine
from services.models import Instance
from services.runtime.protos import tf_predict_pb2
from tests import harness
from tests.runtime import models
from tests.runtime.payloads import images_request
from tests.services.conftest import create_service, events, wait_for_status

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def file_server(tmp_path):
    """A local HTTP server for a folder of archives (stands in for a public model URL)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.root = root
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()


@pytest.fixture
def public_agent(start_agent):
    start_agent("node-public", cpu=4, memory_mb=16384)
    Machine.objects.filter(name="node-public").update(group=public_group())


def test_tensorflow_archive_over_http_serves_predictions(tenant, public_agent, file_server, tmp_path):
    import tensorflow as tf

    saved_model = models.build_keras_mlp(tmp_path / "build")
    with tarfile.open(file_server.root / "mnist.tar.gz", "w:gz") as archive:
        archive.add(saved_model, arcname="mnist_saved_model")
    create_service(tenant, {"name": "mnist", "generate_token": "true", "processor": "tensorflow_cpu_1.15",
                            "model_path": f"{file_server.url}/mnist.tar.gz", "metadata": {"instance": 1, "cpu": 1}})
    wait_for_status(tenant, "mnist", "Running", running=1, timeout=180)
    instance = Instance.objects.get(service__name="mnist")
    base = f"http://{instance.host}:{instance.port}/"

    token = {"Authorization": instance.service.token}
    structure = httpx.get(base, headers=token, timeout=10).json()
    assert structure["signature_name"] == "predict_images"
    assert structure["inputs"][0]["name"] == "images"
    images = np.random.default_rng(7).random((3, 784), dtype=np.float32)
    response = httpx.post(base, content=images_request(images), headers=token, timeout=30)
    assert response.status_code == 200, response.text
    scores = tf_predict_pb2.PredictResponse.FromString(response.content).outputs["scores"]
    got = np.array(scores.float_val, dtype=np.float32).reshape(3, 10)
    expected = tf.saved_model.load(str(saved_model)).signatures["predict_images"](
        images=tf.constant(images))["scores"].numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert any("Fetching model from [http://127.0.0.1" in line for line in events(tenant, "mnist"))


def test_malicious_archive_fails_the_deployment_with_the_reason(tenant, public_agent, file_server):
    payload = io.BytesIO(b"owned")
    with tarfile.open(file_server.root / "evil.tar.gz", "w:gz") as archive:
        member = tarfile.TarInfo("../../etc/evil.txt")
        member.size = len(payload.getvalue())
        archive.addfile(member, payload)
    create_service(tenant, {"name": "evil", "processor": "pmml", "model_path": f"{file_server.url}/evil.tar.gz",
                            "metadata": {"instance": 1}})
    failed = wait_for_status(tenant, "evil", "Failed", timeout=60)
    assert "../../etc/evil.txt" in failed["Message"]
    assert not (file_server.root.parent.parent / "etc" / "evil.txt").exists()
    harness.wait_until(lambda: any("[FAILED] Service failed to start" in line for line in events(tenant, "evil")),
                       10, lambda: "\n".join(events(tenant, "evil")))
