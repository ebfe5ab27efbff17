"""TensorFlow processor over the EAS protobuf protocol, against a real Keras SavedModel."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from services.runtime.protos import tf_predict_pb2
from tests.runtime.payloads import dtype_request, images_request

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def predict(server, body: bytes) -> tf_predict_pb2.PredictResponse:
    response = server.post(body, path="/api/predict/mnist")
    assert response.status_code == 200, response.text
    return tf_predict_pb2.PredictResponse.FromString(response.content)


def scores(response: tf_predict_pb2.PredictResponse) -> np.ndarray:
    array = response.outputs["scores"]
    assert array.dtype == tf_predict_pb2.DT_FLOAT
    return np.array(array.float_val, np.float32).reshape(tuple(array.array_shape.dim))


def test_empty_request_and_get_return_the_seed_model_structure(tf_servers):
    expected = {
        "inputs": [{"name": "images", "shape": [-1, 784], "type": "DT_FLOAT"}],
        "outputs": [{"name": "scores", "shape": [-1, 10], "type": "DT_FLOAT"}],
        "signature_name": "predict_images",
    }
    assert httpx.get(tf_servers.main.url + "/api/predict/mnist").json() == expected
    empty = tf_servers.main.post(b"")
    assert empty.status_code == 200 and empty.json() == expected


def test_predictions_match_tensorflow(tf_servers, mlp_model):
    images = np.random.default_rng(1).random((3, 784), dtype=np.float32)
    result = predict(tf_servers.main, images_request(images))
    np.testing.assert_allclose(scores(result), mlp_model.reference(images), rtol=1e-5, atol=1e-6)


def test_default_signature_is_used_when_the_request_names_none(tf_servers, mlp_model):
    images = np.full((1, 784), 0.25, np.float32)
    result = predict(tf_servers.main, images_request(images, signature=""))
    np.testing.assert_allclose(scores(result), mlp_model.reference(images), rtol=1e-5, atol=1e-6)


def test_output_filter_limits_the_outputs(tf_servers, dtype_model):
    request = tf_predict_pb2.PredictRequest.FromString(dtype_request(["a"], [True], [1], [[1, 2]], [1.0], [3]))
    request.output_filter.extend(["upper", "halved"])
    result = predict(tf_servers.dtypes, request.SerializeToString())
    assert sorted(result.outputs) == ["halved", "upper"]


def test_every_dtype_family_round_trips(tf_servers):
    body = dtype_request(["abc", "xY"], [True, False], [2**40, -3], [[1, 2], [30, 40]], [1.5, -7.25], [0, 200])
    outputs = predict(tf_servers.dtypes, body).outputs
    assert outputs["upper"].dtype == tf_predict_pb2.DT_STRING
    assert list(outputs["upper"].string_val) == [b"ABC", b"XY"]
    assert outputs["negated"].dtype == tf_predict_pb2.DT_BOOL and list(outputs["negated"].bool_val) == [False, True]
    assert outputs["doubled"].dtype == tf_predict_pb2.DT_INT64 and list(outputs["doubled"].int64_val) == [2**41, -6]
    assert outputs["summed"].dtype == tf_predict_pb2.DT_INT32 and list(outputs["summed"].int_val) == [3, 70]
    assert outputs["halved"].dtype == tf_predict_pb2.DT_DOUBLE and list(outputs["halved"].double_val) == [0.75, -3.625]
    assert outputs["inverted"].dtype == tf_predict_pb2.DT_UINT8 and list(outputs["inverted"].int_val) == [255, 55]
    assert list(outputs["upper"].array_shape.dim) == [2]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.inputs["images"].array_shape.dim.__setitem__(1, 783), "input 'images': expected shape [-1, 784]"),
        (lambda r: setattr(r.inputs["images"], "dtype", tf_predict_pb2.DT_DOUBLE), "input 'images': expected dtype DT_FLOAT"),
        (lambda r: r.inputs["extra"].CopyFrom(r.inputs["images"]), "input 'extra' is not an input"),
        (lambda r: r.inputs.__delitem__("images"), "missing input 'images'"),
        (lambda r: setattr(r, "signature_name", "nope"), "signature 'nope' not found"),
        (lambda r: r.output_filter.append("logits"), "output 'logits' is not an output"),
        (lambda r: r.inputs["images"].float_val.pop(), "input 'images': shape [1, 784] needs 784 values"),
    ],
    ids=["shape", "dtype", "unknown-input", "missing-input", "signature", "output-filter", "value-count"],
)
def test_bad_requests_answer_400_naming_the_problem(tf_servers, mutate, message):
    request = tf_predict_pb2.PredictRequest.FromString(images_request(np.zeros((1, 784), np.float32)))
    mutate(request)
    response = tf_servers.main.post(request.SerializeToString())
    assert response.status_code == 400
    assert message in response.text


def test_garbage_body_is_a_400(tf_servers):
    response = tf_servers.main.post(b"\xff\xfenot a protobuf")
    assert response.status_code == 400
    assert "PredictRequest" in response.text


def test_gpu_processor_code_runs_on_cpu_and_says_so(tf_servers):
    assert "asks for a GPU but none is visible; running on CPU" in tf_servers.batching.log()


def test_warm_up_files_are_replayed_before_ready(tf_servers):
    # TF Serving PredictionLog TFRecord (2 records) and an EAS .bin request (1), 5 rounds each.
    assert "warm-up replayed 10 requests" in tf_servers.main.log()
    assert "(0 failed)" in tf_servers.main.log()
    assert "warm-up replayed 5 requests" in tf_servers.dtypes.log()
    assert "(0 failed)" in tf_servers.dtypes.log()


def test_warm_up_file_shipped_in_the_saved_model_is_used(tf_servers):
    log = tf_servers.batching.log()
    assert "warm-up replayed 10 requests from" in log
    assert "assets.extra/tf_serving_warmup_requests" in log
