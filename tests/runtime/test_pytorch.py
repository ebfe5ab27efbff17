"""TorchScript processor over the eas-prediction TorchRequest protobuf."""

from __future__ import annotations

import numpy as np
import pytest

from services.runtime.protos import torch_predict_pb2
from tests.runtime.payloads import torch_request

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def torch_server(log_dir, torch_model):
    from tests.runtime.servers import RuntimeServer

    server = RuntimeServer(["--processor", "pytorch_cpu_1.6", "--model", str(torch_model.path.parent),
                            "--model-entry", torch_model.path.name,
                            "--metadata", '{"rpc.batching": "true", "rpc.max_batch_timeout": "30"}'],
                           log_dir, "torch")
    try:
        yield server.wait_ready(90)
    finally:
        server.stop()


def outputs(response) -> list[np.ndarray]:
    assert response.status_code == 200, response.text
    parsed = torch_predict_pb2.PredictResponse.FromString(response.content)
    return [np.array(array.float_val, np.float32).reshape(tuple(array.array_shape.dim)) for array in parsed.outputs]


def assert_matches_reference(server, torch_model, rtol=1e-6):
    x = np.random.default_rng(0).random((3, 4), dtype=np.float32)
    y = np.random.default_rng(1).random((3, 4), dtype=np.float32)
    first, second = outputs(server.post(torch_request(x, y)))
    expected_first, expected_second = torch_model.reference(x, y)
    np.testing.assert_allclose(first, expected_first, rtol=rtol)
    np.testing.assert_allclose(second, expected_second, rtol=rtol)


def test_outputs_match_the_scripted_module(torch_server, torch_model):
    assert_matches_reference(torch_server, torch_model)


def test_output_filter_picks_positions(torch_server, torch_model):
    x = np.ones((1, 4), np.float32)
    y = np.full((1, 4), 3.0, np.float32)
    (only,) = outputs(torch_server.post(torch_request(x, y, output_filter=(1,))))
    np.testing.assert_allclose(only, torch_model.reference(x, y)[1])


def test_concurrent_requests_are_batched_and_split_back(torch_server, torch_model):
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(9)
    pairs = [(rng.random((1, 4), dtype=np.float32), rng.random((1, 4), dtype=np.float32)) for _ in range(12)]
    with ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(lambda pair: torch_server.post(torch_request(*pair)), pairs))
    for (x, y), response in zip(pairs, responses, strict=True):
        np.testing.assert_allclose(outputs(response)[0], torch_model.reference(x, y)[0], rtol=1e-6)
    assert torch_server.metric("eas_runtime_batch_size_sum") > torch_server.metric("eas_runtime_batch_size_count")


def test_model_errors_are_400(torch_server):
    wrong = torch_server.post(torch_request(np.ones((1, 5), np.float32), np.ones((1, 5), np.float32)))
    assert wrong.status_code == 400
    assert "model failed on the request" in wrong.text
    assert torch_server.post(b"").status_code == 400
    assert torch_server.post(b"\xff\xff\xff").status_code == 400


def _cuda_visible() -> bool:
    import torch

    return torch.cuda.is_available()


@pytest.fixture
def torch_gpu_server(log_dir, torch_model):
    from tests.runtime.servers import RuntimeServer

    server = RuntimeServer(["--processor", "pytorch_gpu_1.6", "--model", str(torch_model.path.parent),
                            "--model-entry", torch_model.path.name], log_dir, "torch-gpu")
    try:
        yield server.wait_ready(90)
    finally:
        server.stop()


@pytest.mark.skipif(_cuda_visible(), reason="a CUDA device is visible: the GPU test below covers this code")
def test_gpu_code_without_a_gpu_runs_on_cpu_and_says_so(torch_gpu_server, torch_model):
    assert_matches_reference(torch_gpu_server, torch_model, rtol=1e-5)
    log = torch_gpu_server.log()
    assert "asks for a GPU but none is visible; running on CPU" in log
    assert f"{torch_model.path.name} with torch" in log and " on cpu" in log


@pytest.mark.skipif(not _cuda_visible(), reason="no CUDA device visible to torch on this machine "
                                                "(CI has no GPU); runs on GPU worker machines")
def test_gpu_code_runs_on_the_gpu(torch_gpu_server, torch_model):
    assert_matches_reference(torch_gpu_server, torch_model, rtol=1e-5)
    assert " on cuda" in torch_gpu_server.log()
