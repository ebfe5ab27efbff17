"""Server-side batching (rpc.batching) on the TensorFlow MLP: batches really form, answers stay per request."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from services.runtime.protos import tf_predict_pb2
from tests.runtime.payloads import images_request

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def batch_histogram(server) -> dict[str, float]:
    buckets = {}
    for line in server.metrics().splitlines():
        if line.startswith("eas_runtime_batch_size_bucket"):
            bound = line.split('le="')[1].split('"')[0]
            buckets[bound] = float(line.split()[-1])
    return buckets


def test_concurrent_requests_are_merged_and_split_back(tf_servers, mlp_model):
    server = tf_servers.batching
    before_count = server.metric("eas_runtime_batch_size_count")
    before_single = batch_histogram(server)["1.0"]
    rng = np.random.default_rng(11)
    inputs = [rng.random((1 + index % 2, 784), dtype=np.float32) for index in range(32)]
    with ThreadPoolExecutor(32) as pool:
        responses = list(pool.map(lambda images: server.post(images_request(images)), inputs))
    for images, response in zip(inputs, responses, strict=True):
        assert response.status_code == 200, response.text
        scores = tf_predict_pb2.PredictResponse.FromString(response.content).outputs["scores"]
        assert list(scores.array_shape.dim) == [images.shape[0], 10]
        np.testing.assert_allclose(np.array(scores.float_val).reshape(-1, 10), mlp_model.reference(images),
                                   rtol=1e-5, atol=1e-6)
    batches = server.metric("eas_runtime_batch_size_count") - before_count
    requests_in_batches = 32
    assert batches < requests_in_batches  # merged
    histogram = batch_histogram(server)
    assert histogram["+Inf"] - histogram["1.0"] > 0  # some batches held more than one request
    assert histogram["8.0"] == histogram["+Inf"]  # never above rpc.max_batch_size
    assert before_single <= histogram["1.0"]


def test_a_bad_request_in_a_batch_only_fails_itself(tf_servers):
    server = tf_servers.batching
    good = images_request(np.zeros((1, 784), np.float32))
    bad = images_request(np.zeros((1, 700), np.float32))
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(server.post, [good, bad] * 4))
    assert [r.status_code for r in responses] == [200, 400] * 4
