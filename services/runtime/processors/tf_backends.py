"""Where a TensorFlow SavedModel actually runs.

All backends speak in TF Serving terms (SignatureDefs, named numpy tensors):
  * InProcessModel: the TensorFlow runtime in this process (the fast default);
  * PredictionServiceModel: any TF Serving `PredictionService` reached over gRPC, e.g. a
    `tensorflow_model_server` someone else runs (`--tf-serving-target`);
  * ModelServerProcess: starts a real `tensorflow_model_server` binary for this instance
    (`--tf-model-server`) and talks to it as a PredictionServiceModel.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import text_format
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2
from tensorflow_serving.apis import get_model_metadata_pb2, predict_pb2, prediction_service_pb2_grpc

from .base import ProcessorError

log = logging.getLogger("services.runtime.tensorflow")

SERVE_TAG = "serve"
GRPC_MESSAGE_LIMIT = 512 * 1024 * 1024
_GRPC_OPTIONS = [
    ("grpc.max_send_message_length", GRPC_MESSAGE_LIMIT),
    ("grpc.max_receive_message_length", GRPC_MESSAGE_LIMIT),
]
_CLIENT_ERRORS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.NOT_FOUND: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 408,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 450,
}


def find_saved_model(path: Path) -> Path:
    """The SavedModel directory at or under `path`; TF Serving's `<base>/<version>/` layout picks
    the highest version."""
    if (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file():
        return path
    candidates = sorted(
        {marker.parent for pattern in ("saved_model.pb", "saved_model.pbtxt") for marker in path.glob(f"**/{pattern}")}
    )
    if not candidates:
        raise ProcessorError(f"no SavedModel (saved_model.pb) found under {path}", 500)
    versioned = [candidate for candidate in candidates if candidate.name.isdigit() and candidate.parent == path]
    if versioned:
        return max(versioned, key=lambda candidate: int(candidate.name))
    return min(candidates, key=lambda candidate: len(candidate.parts))


def read_signature_defs(model_dir: Path) -> tuple[dict[str, meta_graph_pb2.SignatureDef], list[str]]:
    """SignatureDefs of the serving meta graph, straight from the SavedModel proto (what TF Serving
    itself reports), plus that meta graph's tags."""
    saved_model = saved_model_pb2.SavedModel()
    binary = model_dir / "saved_model.pb"
    if binary.is_file():
        saved_model.ParseFromString(binary.read_bytes())
    else:
        text_format.Parse((model_dir / "saved_model.pbtxt").read_text(), saved_model)
    graphs = list(saved_model.meta_graphs)
    if not graphs:
        raise ProcessorError(f"{model_dir}: SavedModel has no meta graph", 500)
    graph = next((g for g in graphs if SERVE_TAG in g.meta_info_def.tags), graphs[0])
    signatures = {name: sig for name, sig in graph.signature_def.items() if not name.startswith("__")}
    if not signatures:
        raise ProcessorError(f"{model_dir}: SavedModel has no signatures to serve", 500)
    return signatures, list(graph.meta_info_def.tags)


class InProcessModel:
    def __init__(self, model_dir: Path) -> None:
        self.signature_defs, tags = read_signature_defs(model_dir)
        self._loaded = tf.saved_model.load(str(model_dir), tags=tags or None)
        self._functions = {}
        self._dtypes = {}
        for name, signature in self.signature_defs.items():
            if name not in self._loaded.signatures:
                log.warning("signature %s is in the SavedModel but cannot be loaded; skipped", name)
                continue
            self._functions[name] = self._loaded.signatures[name]
            self._dtypes[name] = {alias: tf.dtypes.as_dtype(info.dtype) for alias, info in signature.inputs.items()}
        self.signature_defs = {name: self.signature_defs[name] for name in self._functions}

    def run(self, signature: str, inputs: dict[str, np.ndarray], output_filter: tuple[str, ...]) -> dict:
        dtypes = self._dtypes[signature]
        tensors = {alias: tf.convert_to_tensor(value, dtype=dtypes[alias]) for alias, value in inputs.items()}
        try:
            outputs = self._functions[signature](**tensors)
        except tf.errors.OpError as exc:
            raise ProcessorError(exc.message) from None
        names = output_filter or outputs.keys()
        return {name: outputs[name].numpy() for name in names}

    def close(self) -> None:
        self._functions.clear()
        self._loaded = None


class PredictionServiceModel:
    def __init__(self, target: str, model_name: str, timeout_s: float, connect_timeout_s: float = 30.0) -> None:
        self.target = target
        self.model_name = model_name
        self._timeout_s = timeout_s
        self._channel = grpc.insecure_channel(target, options=_GRPC_OPTIONS)
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        try:
            grpc.channel_ready_future(self._channel).result(timeout=connect_timeout_s)
        except grpc.FutureTimeoutError:
            self._channel.close()
            raise ProcessorError(f"TF Serving at {target} is not reachable", 500) from None
        try:
            self.signature_defs = self._fetch_signature_defs()
        except ProcessorError:
            self._channel.close()
            raise

    def _fetch_signature_defs(self) -> dict[str, meta_graph_pb2.SignatureDef]:
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        request.model_spec.name = self.model_name
        response = self._call(self._stub.GetModelMetadata, request)
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signature_map)
        return {name: sig for name, sig in signature_map.signature_def.items() if not name.startswith("__")}

    def run(self, signature: str, inputs: dict[str, np.ndarray], output_filter: tuple[str, ...]) -> dict:
        request = predict_pb2.PredictRequest(output_filter=list(output_filter))
        request.model_spec.name = self.model_name
        request.model_spec.signature_name = signature
        for alias, value in inputs.items():
            request.inputs[alias].CopyFrom(tf.make_tensor_proto(value))
        response = self._call(self._stub.Predict, request)
        return {alias: tf.make_ndarray(tensor) for alias, tensor in response.outputs.items()}

    def _call(self, method, request):
        try:
            return method(request, timeout=self._timeout_s)
        except grpc.RpcError as exc:
            status = _CLIENT_ERRORS.get(exc.code(), 500)
            raise ProcessorError(f"TF Serving at {self.target}: {exc.details()}", status) from None

    def close(self) -> None:
        self._channel.close()


class ModelServerProcess(PredictionServiceModel):
    """A `tensorflow_model_server` child serving this instance's model on a private loopback port."""

    def __init__(self, binary: str, model_dir: Path, model_name: str, timeout_s: float, start_timeout_s: float) -> None:
        executable = shutil.which(binary) or binary
        # TF Serving wants <base>/<numeric version>/saved_model.pb; link the model in as version 1.
        self._base = Path(tempfile.mkdtemp(prefix="eas-tfserving-"))
        os.symlink(model_dir, self._base / "1")
        port = _free_port()
        command = [
            executable,
            f"--port={port}",
            "--rest_api_port=0",
            f"--model_name={model_name}",
            f"--model_base_path={self._base}",
        ]
        log.info("starting %s", " ".join(command))
        self._process = subprocess.Popen(command)
        deadline = time.monotonic() + start_timeout_s
        while True:
            if self._process.poll() is not None:
                self._cleanup()
                raise ProcessorError(f"{binary} exited with code {self._process.returncode} while loading", 500)
            try:
                super().__init__(f"127.0.0.1:{port}", model_name, timeout_s, connect_timeout_s=1.0)
                return
            except ProcessorError:
                if time.monotonic() > deadline:
                    self._cleanup()
                    raise ProcessorError(f"{binary} did not serve the model within {start_timeout_s:.0f}s", 500) from None
                time.sleep(0.5)

    def close(self) -> None:
        super().close()
        self._cleanup()

    def _cleanup(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self._base, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
