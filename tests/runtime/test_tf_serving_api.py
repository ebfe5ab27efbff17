"""TF Serving's REST and gRPC APIs on a TensorFlow instance, driven by TF Serving's own client stubs."""

from __future__ import annotations

import base64
import os
import sys

import grpc
import httpx
import numpy as np
import pytest

from tests.runtime.payloads import images_request

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def stub(tf_servers):
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    channel = grpc.insecure_channel(f"127.0.0.1:{tf_servers.main.grpc_port}")
    yield prediction_service_pb2_grpc.PredictionServiceStub(channel)
    channel.close()


def test_rest_predict_row_format(tf_servers, mlp_model):
    images = np.random.default_rng(2).random((2, 784), dtype=np.float32)
    response = httpx.post(f"{tf_servers.main.url}/v1/models/mnist:predict", json={"instances": images.tolist()})
    assert response.status_code == 200, response.text
    np.testing.assert_allclose(response.json()["predictions"], mlp_model.reference(images), rtol=1e-5, atol=1e-6)


def test_rest_predict_columnar_format_with_signature(tf_servers, mlp_model):
    images = np.random.default_rng(3).random((1, 784), dtype=np.float32)
    document = {"signature_name": "predict_images", "inputs": {"images": images.tolist()}}
    response = httpx.post(f"{tf_servers.main.url}/v1/models/mnist/versions/1:predict", json=document)
    assert response.status_code == 200, response.text
    np.testing.assert_allclose(response.json()["outputs"], mlp_model.reference(images), rtol=1e-5, atol=1e-6)


def test_rest_strings_and_b64(tf_servers):
    document = {"instances": [
        {"text": "abc", "flag": True, "big": 1, "small": [1, 2], "precise": 1.0, "byte": 1},
        {"text": {"b64": base64.b64encode(b"xyz").decode()}, "flag": False, "big": 2, "small": [3, 4],
         "precise": 2.0, "byte": 2},
    ]}
    response = httpx.post(f"{tf_servers.dtypes.url}/v1/models/anything:predict", json=document)
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert [row["upper"] for row in predictions] == ["ABC", "XYZ"]
    assert [row["summed"] for row in predictions] == [3, 7]


def test_rest_metadata_and_status(tf_servers):
    metadata = httpx.get(f"{tf_servers.main.url}/v1/models/mnist/metadata").json()
    assert metadata["model_spec"]["name"] == "mnist"
    signature = metadata["metadata"]["signature_def"]["signature_def"]["predict_images"]
    assert signature["inputs"]["images"]["dtype"] == "DT_FLOAT"
    assert signature["method_name"] == "tensorflow/serving/predict"
    status = httpx.get(f"{tf_servers.main.url}/v1/models/mnist").json()
    assert status["model_version_status"][0]["state"] == "AVAILABLE"


def test_rest_errors_use_tf_serving_json(tf_servers):
    bad_shape = httpx.post(f"{tf_servers.main.url}/v1/models/mnist:predict", json={"instances": [[1.0, 2.0]]})
    assert bad_shape.status_code == 400
    assert "input 'images': expected shape [-1, 784]" in bad_shape.json()["error"]
    missing = httpx.post(f"{tf_servers.main.url}/v1/models/mnist:predict", json={"signature_name": "predict_images"})
    assert missing.status_code == 400 and "instances" in missing.json()["error"]
    wrong_version = httpx.post(f"{tf_servers.main.url}/v1/models/mnist/versions/7:predict", json={"instances": []})
    assert wrong_version.status_code == 404


def test_grpc_predict_matches_tensorflow(tf_servers, mlp_model, stub):
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    images = np.random.default_rng(4).random((4, 784), dtype=np.float32)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "mnist"
    request.inputs["images"].CopyFrom(tf.make_tensor_proto(images))
    response = stub.Predict(request, timeout=10)
    assert response.model_spec.signature_name == "predict_images"
    assert response.model_spec.version.value == 1
    np.testing.assert_allclose(tf.make_ndarray(response.outputs["scores"]), mlp_model.reference(images),
                               rtol=1e-5, atol=1e-6)


def test_grpc_model_metadata(tf_servers, stub):
    from tensorflow_serving.apis import get_model_metadata_pb2

    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = "mnist"
    response = stub.GetModelMetadata(request, timeout=10)
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(signature_map)
    assert list(signature_map.signature_def) == ["predict_images"]
    assert [dim.size for dim in signature_map.signature_def["predict_images"].outputs["scores"].tensor_shape.dim] == [-1, 10]


def test_grpc_invalid_argument(tf_servers, stub):
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.inputs["images"].CopyFrom(tf.make_tensor_proto(np.zeros((1, 784), np.int32)))
    with pytest.raises(grpc.RpcError) as error:
        stub.Predict(request, timeout=10)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "expected dtype DT_FLOAT" in error.value.details()


def test_prediction_service_backend(tf_servers, start_server, mlp_model):
    """--tf-serving-target: the EAS endpoint backed by a remote TF Serving PredictionService
    (here: the gRPC port of another instance) gives the same answers as TensorFlow."""
    remote = start_server(["--processor", "tensorflow_cpu_2.7", "--model-name", "mnist",
                           "--tf-serving-target", f"127.0.0.1:{tf_servers.main.grpc_port}"])
    assert remote.post(b"").json()["signature_name"] == "predict_images"
    images = np.random.default_rng(5).random((2, 784), dtype=np.float32)
    response = remote.post(images_request(images))
    assert response.status_code == 200, response.text
    from services.runtime.protos import tf_predict_pb2

    result = tf_predict_pb2.PredictResponse.FromString(response.content).outputs["scores"]
    np.testing.assert_allclose(np.array(result.float_val).reshape(2, 10), mlp_model.reference(images),
                               rtol=1e-5, atol=1e-6)
    bad = remote.post(images_request(np.zeros((1, 783), np.float32)))
    assert bad.status_code == 400 and "expected shape" in bad.text


def test_missing_model_server_binary_is_a_clear_start_failure(start_server, mlp_model):
    server = start_server(["--processor", "tensorflow_cpu_2.7", "--model", str(mlp_model.path),
                           "--tf-model-server", "tensorflow_model_server_not_installed"], ready=False)
    assert server.wait_exit(60) == 2
    assert "--tf-model-server: tensorflow_model_server_not_installed is not an executable on PATH" in server.log()


STAND_IN_MODEL_SERVER = """#!{python}
# Stand-in for TensorFlow Serving's `tensorflow_model_server` binary (not installable here): it
# accepts the binary's flags and serves <model_base_path>/<version> on --port with this project's
# own TF-Serving-compatible gRPC server, so the --tf-model-server code path runs for real.
import os, socket, sys
flags = dict(arg[2:].split("=", 1) for arg in sys.argv[1:])
assert flags["rest_api_port"] == "0"
version = max(os.listdir(flags["model_base_path"]), key=int)
with socket.socket() as sock:
    sock.bind(("127.0.0.1", 0))
    http_port = sock.getsockname()[1]
os.execv(sys.executable, [sys.executable, "-m", "services.runtime", "--processor", "tensorflow_cpu_2.7",
         "--model", os.path.join(flags["model_base_path"], version), "--model-name", flags["model_name"],
         "--host", "127.0.0.1", "--port", str(http_port), "--grpc-port", flags["port"]])
"""


def test_model_server_binary_backend(start_server, mlp_model, tmp_path, monkeypatch):
    """--tf-model-server: the instance starts the binary on a private port, waits for the model,
    proxies every request to it over gRPC and stops it on shutdown."""
    binary = tmp_path / "bin" / "tensorflow_model_server"
    binary.parent.mkdir()
    binary.write_text(STAND_IN_MODEL_SERVER.format(python=sys.executable))
    binary.chmod(0o755)
    monkeypatch.setenv("PATH", f"{binary.parent}:{os.environ['PATH']}")
    server = start_server(["--processor", "tensorflow_cpu_1.14", "--model", str(mlp_model.path),
                           "--model-name", "mnist", "--tf-model-server", "tensorflow_model_server"])
    assert "--rest_api_port=0 --model_name=mnist" in server.log()
    images = np.random.default_rng(6).random((2, 784), dtype=np.float32)
    response = server.post(images_request(images))
    assert response.status_code == 200, response.text
    from services.runtime.protos import tf_predict_pb2

    result = tf_predict_pb2.PredictResponse.FromString(response.content).outputs["scores"]
    np.testing.assert_allclose(np.array(result.float_val).reshape(2, 10), mlp_model.reference(images),
                               rtol=1e-5, atol=1e-6)
    assert server.stop() == 0
    assert server.log().count("[services.runtime.server] stopped") == 2  # the binary was stopped too
