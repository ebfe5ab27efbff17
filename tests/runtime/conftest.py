"""Fixtures for the instance server tests: models built once per session, servers as subprocesses."""

from __future__ import annotations

import json
import shutil
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

from tests.runtime import models
from tests.runtime.payloads import dtype_request
from tests.runtime.servers import RuntimeServer


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: starts TensorFlow/PyTorch instance servers (several seconds each)")


@pytest.fixture(scope="session")
def runtime_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("runtime")


@pytest.fixture(scope="session")
def log_dir(runtime_dir):
    path = runtime_dir / "logs"
    path.mkdir()
    return path


@pytest.fixture
def start_server(log_dir, request):
    """Start instance servers for one test; all are stopped (and their groups killed) afterwards."""
    started: list[RuntimeServer] = []

    def start(args: list[str], ready: bool = True, **kwargs) -> RuntimeServer:
        server = RuntimeServer(args, log_dir, request.node.name[:40], **kwargs)
        started.append(server)
        return server.wait_ready() if ready else server

    yield start
    for server in started:
        server.stop()


# ---- models --------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def mlp_model(runtime_dir):
    """The Keras MLP SavedModel and the TensorFlow-loaded signature to compare against."""
    import tensorflow as tf

    path = models.build_keras_mlp(runtime_dir)
    signature = tf.saved_model.load(str(path)).signatures["predict_images"]

    def reference(images: np.ndarray) -> np.ndarray:
        return signature(images=tf.constant(images, dtype=tf.float32))["scores"].numpy()

    return SimpleNamespace(path=path, reference=reference)


@pytest.fixture(scope="session")
def dtype_model(runtime_dir):
    return models.build_dtype_model(runtime_dir)


@pytest.fixture(scope="session")
def torch_model(runtime_dir):
    import torch

    path = models.build_torchscript(runtime_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module = torch.jit.load(str(path))

    def reference(x: np.ndarray, y: np.ndarray):
        with torch.no_grad():
            first, second = module(torch.tensor(x), torch.tensor(y))
        return first.numpy(), second.numpy()

    return SimpleNamespace(path=path, reference=reference)


@pytest.fixture(scope="session")
def pmml_model(runtime_dir):
    return models.write_pmml(runtime_dir)


@pytest.fixture(scope="session")
def native_libraries(runtime_dir):
    directory = runtime_dir / "native"
    directory.mkdir()
    return SimpleNamespace(
        directory=directory,
        echo=models.compile_library(directory, "echo", models.SEED_ECHO_PROCESSOR, "g++"),
        behaviour=models.compile_library(directory, "behaviour", models.BEHAVIOUR_PROCESSOR, "gcc"),
    )


@pytest.fixture(scope="session")
def java_processor(runtime_dir):
    return models.build_java_processor(runtime_dir / "java")


@pytest.fixture(scope="session")
def python_apps(runtime_dir):
    return SimpleNamespace(
        seed=models.write_python_app(runtime_dir / "seed_app", models.SEED_PYTHON_APP),
        behaviour=models.write_python_app(runtime_dir / "behaviour_app", models.BEHAVIOUR_APP),
    )


# ---- warm-up files -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def tf_serving_warmup_file(runtime_dir):
    """TF Serving's warm-up format: a TFRecord of PredictionLogs, written by TensorFlow itself."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    path = runtime_dir / "tf_serving_warmup_requests"
    with tf.io.TFRecordWriter(str(path)) as writer:
        for rows in (1, 3):
            request = predict_pb2.PredictRequest()
            request.model_spec.signature_name = "predict_images"
            request.inputs["images"].CopyFrom(tf.make_tensor_proto(np.full((rows, 784), 0.5, np.float32)))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
    return path


# ---- long-lived TensorFlow servers (slow to start: started together, shared by the session) -----

@pytest.fixture(scope="session")
def tf_servers(log_dir, mlp_model, dtype_model, tf_serving_warmup_file, runtime_dir):
    eas_warmup = runtime_dir / "dtype_warm_up.bin"
    eas_warmup.write_bytes(dtype_request(["warm"], [True], [1], [[1, 2]], [1.0], [1]))
    main = RuntimeServer(
        ["--processor", "tensorflow_cpu_1.15", "--model", str(mlp_model.path), "--model-name", "mnist",
         "--warm-up-data", str(tf_serving_warmup_file)],
        log_dir, "tf-main", grpc=True,
    )
    # a copy of the model that ships TF Serving's own warm-up file in assets.extra/
    shipped = runtime_dir / "mnist_with_warmup"
    shutil.copytree(mlp_model.path, shipped)
    (shipped / "assets.extra").mkdir(exist_ok=True)
    shutil.copy(tf_serving_warmup_file, shipped / "assets.extra" / "tf_serving_warmup_requests")
    batching = RuntimeServer(
        ["--processor", "tensorflow_gpu_2.7", "--model", str(shipped), "--metadata",
         json.dumps({"rpc": {"batching": True, "max_batch_size": 8, "max_batch_timeout": 40, "worker_threads": 2}})],
        log_dir, "tf-batching",
    )
    dtypes = RuntimeServer(
        ["--processor", "tensorflow_cpu_2.7", "--model", str(dtype_model), "--warm-up-data", str(eas_warmup)],
        log_dir, "tf-dtypes",
    )
    servers = SimpleNamespace(main=main, batching=batching, dtypes=dtypes)
    try:
        for server in (main, batching, dtypes):
            server.wait_ready(timeout=120)
        yield servers
    finally:
        for server in (main, batching, dtypes):
            server.stop()
