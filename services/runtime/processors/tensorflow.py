"""TensorFlow SavedModel processor (`tensorflow_cpu_*`, `tensorflow_gpu_*`) speaking EAS's protobuf.

Requests are validated against the signature before anything runs, so a wrong input name, dtype or
shape is a 400 that names the input. With batching on, requests for the same signature with the
same input layout are concatenated along the batch dimension and run as one call.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from google.protobuf.message import DecodeError  # noqa: E402
from tensorflow.core.framework import types_pb2  # noqa: E402
from tensorflow.core.protobuf import meta_graph_pb2  # noqa: E402
from tensorflow_serving.apis import prediction_log_pb2  # noqa: E402

from ..protos import tf_predict_pb2  # noqa: E402
from . import arrays  # noqa: E402
from .base import Processor, ProcessorError, Request, Response  # noqa: E402
from .tf_backends import InProcessModel, ModelServerProcess, PredictionServiceModel, find_saved_model  # noqa: E402

log = logging.getLogger("services.runtime.tensorflow")

DEFAULT_SIGNATURE = "serving_default"
WARMUP_FILE = Path("assets.extra") / "tf_serving_warmup_requests"


@dataclass(slots=True)
class PreparedCall:
    """A validated request: which signature, its inputs as numpy arrays, which outputs to return."""

    signature: str
    inputs: dict[str, np.ndarray]
    output_filter: tuple[str, ...]

    def batch_key(self) -> tuple:
        layout = tuple(sorted((alias, value.dtype.str, value.shape[1:]) for alias, value in self.inputs.items()))
        return self.signature, layout, self.output_filter

    @property
    def rows(self) -> int:
        return next(iter(self.inputs.values())).shape[0]


class TensorFlowProcessor(Processor):
    supports_batching = True

    def __init__(
        self,
        code: str,
        model_path: Path | None,
        model_name: str = "default",
        timeout_s: float = 5.0,
        serving_target: str | None = None,
        model_server_binary: str | None = None,
    ) -> None:
        self.code = code
        self.model_name = model_name
        self._model_path = model_path
        self._timeout_s = timeout_s
        self._serving_target = serving_target
        self._model_server_binary = model_server_binary
        self.model_dir: Path | None = None
        self.model = None
        self.default_signature = ""

    def load(self) -> None:
        if "_gpu_" in self.code and not tf.config.list_physical_devices("GPU"):
            log.warning("%s asks for a GPU but none is visible; running on CPU", self.code)
        if self._serving_target:
            log.info("using TF Serving PredictionService at %s", self._serving_target)
            self.model = PredictionServiceModel(self._serving_target, self.model_name, self._timeout_s)
        else:
            if self._model_path is None:
                raise ProcessorError("a TensorFlow processor needs --model (a SavedModel directory)", 500)
            self.model_dir = find_saved_model(self._model_path)
            if self._model_server_binary:
                self.model = ModelServerProcess(
                    self._model_server_binary, self.model_dir, self.model_name, self._timeout_s, start_timeout_s=300
                )
            else:
                log.info("loading SavedModel %s with TensorFlow %s in process", self.model_dir, tf.__version__)
                self.model = InProcessModel(self.model_dir)
        signatures = self.model.signature_defs
        if DEFAULT_SIGNATURE in signatures:
            self.default_signature = DEFAULT_SIGNATURE
        else:
            self.default_signature = sorted(signatures)[0]
        log.info("signatures: %s (default %s)", ", ".join(sorted(signatures)), self.default_signature)

    def close(self) -> None:
        if self.model is not None:
            self.model.close()

    def http_api(self, engine):
        from .tf_serving import REST_PREFIX, rest_handler

        return REST_PREFIX, rest_handler(engine, self)

    async def start_grpc(self, engine, host: str, port: int):
        from .tf_serving import start_grpc_server

        return await start_grpc_server(engine, self, host, port)

    @property
    def signature_defs(self) -> dict[str, meta_graph_pb2.SignatureDef]:
        return self.model.signature_defs

    def describe(self) -> dict:
        """The model structure JSON of the EAS docs, for the default signature."""
        signature = self.signature_defs[self.default_signature]
        return {
            "inputs": [_describe_tensor(alias, info) for alias, info in sorted(signature.inputs.items())],
            "outputs": [_describe_tensor(alias, info) for alias, info in sorted(signature.outputs.items())],
            "signature_name": self.default_signature,
        }

    def default_warm_up_file(self) -> Path | None:
        if self.model_dir is not None and (self.model_dir / WARMUP_FILE).is_file():
            return self.model_dir / WARMUP_FILE
        return None

    def warm_up_body(self, record: bytes) -> bytes:
        """TF Serving warm-up records are PredictionLogs; re-express them as EAS requests."""
        entry = prediction_log_pb2.PredictionLog()
        try:
            entry.ParseFromString(record)
        except DecodeError:
            return record
        if entry.WhichOneof("log_type") != "predict_log" or not entry.predict_log.request.inputs:
            return record
        serving_request = entry.predict_log.request
        request = tf_predict_pb2.PredictRequest(
            signature_name=serving_request.model_spec.signature_name,
            output_filter=list(serving_request.output_filter),
        )
        for alias, tensor in serving_request.inputs.items():
            arrays.encode(tf.make_ndarray(tensor), request.inputs[alias])
        return request.SerializeToString()

    # EAS protocol -----------------------------------------------------------------------------

    def predict(self, request: Request) -> Response:
        call = self.prepare_eas(request.body)
        return self._eas_response(self.run(call))

    def predict_batch(self, requests: list[Request]) -> list[Response | ProcessorError]:
        results: list[Response | ProcessorError | None] = [None] * len(requests)
        groups: dict[tuple, list[tuple[int, PreparedCall]]] = {}
        for index, request in enumerate(requests):
            try:
                call = self.prepare_eas(request.body)
            except ProcessorError as exc:
                results[index] = exc
                continue
            key = call.batch_key() if self._batchable(call) else ("single", index)
            groups.setdefault(key, []).append((index, call))
        for members in groups.values():
            for index, outputs in self._run_group(members):
                results[index] = outputs if isinstance(outputs, ProcessorError) else self._eas_response(outputs)
        return results

    def prepare_eas(self, body: bytes) -> PreparedCall:
        request = tf_predict_pb2.PredictRequest()
        try:
            request.ParseFromString(body)
        except DecodeError:
            raise ProcessorError("request body is not a valid TensorFlow PredictRequest protobuf") from None
        signature_name = request.signature_name or self.default_signature
        signature = self.signature(signature_name)
        self.check_input_names(signature_name, signature, request.inputs.keys())
        inputs = {}
        for alias, array in request.inputs.items():
            check_input(alias, signature.inputs[alias], array.dtype, tuple(array.array_shape.dim))
            inputs[alias] = arrays.decode(alias, array)
        return PreparedCall(signature_name, inputs, self.check_output_filter(signature_name, request.output_filter))

    def _eas_response(self, outputs: dict[str, np.ndarray]) -> Response:
        response = tf_predict_pb2.PredictResponse()
        for alias, value in outputs.items():
            arrays.encode(value, response.outputs[alias])
        return Response(response.SerializeToString())

    # shared by every front end (EAS protobuf, TF Serving REST and gRPC) ------------------------

    def signature(self, name: str) -> meta_graph_pb2.SignatureDef:
        signature = self.signature_defs.get(name)
        if signature is None:
            available = ", ".join(sorted(self.signature_defs))
            raise ProcessorError(f"signature '{name}' not found in the model (available: {available})")
        return signature

    def check_output_filter(self, signature_name: str, output_filter) -> tuple[str, ...]:
        outputs = self.signature_defs[signature_name].outputs
        for alias in output_filter:
            if alias not in outputs:
                raise ProcessorError(
                    f"output '{alias}' is not an output of signature '{signature_name}' "
                    f"(outputs: {', '.join(sorted(outputs))})"
                )
        return tuple(output_filter)

    def run(self, call: PreparedCall) -> dict[str, np.ndarray]:
        try:
            return self.model.run(call.signature, call.inputs, call.output_filter)
        except ProcessorError:
            raise
        except (ValueError, TypeError) as exc:
            raise ProcessorError(str(exc)) from None

    def check_input_names(self, signature_name: str, signature, given) -> None:
        given = set(given)
        expected = set(signature.inputs)
        unknown = sorted(given - expected)
        if unknown:
            raise ProcessorError(
                f"input '{unknown[0]}' is not an input of signature '{signature_name}' "
                f"(inputs: {', '.join(sorted(expected))})"
            )
        missing = sorted(expected - given)
        if missing:
            raise ProcessorError(f"missing input '{missing[0]}' of signature '{signature_name}'")

    def _batchable(self, call: PreparedCall) -> bool:
        signature = self.signature_defs[call.signature]
        for alias, value in call.inputs.items():
            shape = signature.inputs[alias].tensor_shape
            if value.ndim == 0 or (not shape.unknown_rank and shape.dim and shape.dim[0].size != -1):
                return False
        return True

    def _run_group(self, members: list[tuple[int, PreparedCall]]):
        """Run one group of compatible calls as a single batch; split the outputs back per request."""
        if len(members) > 1:
            calls = [call for _, call in members]
            merged = PreparedCall(
                calls[0].signature,
                {alias: np.concatenate([call.inputs[alias] for call in calls]) for alias in calls[0].inputs},
                calls[0].output_filter,
            )
            try:
                outputs = self.run(merged)
            except ProcessorError:
                outputs = None  # one bad request spoils the merged call: answer each one on its own
            total = merged.rows
            if outputs is not None and all(value.ndim and value.shape[0] == total for value in outputs.values()):
                offsets = np.cumsum([call.rows for call in calls])[:-1]
                pieces = {alias: np.split(value, offsets) for alias, value in outputs.items()}
                return [(index, {alias: pieces[alias][n] for alias in pieces}) for n, (index, _) in enumerate(members)]
        results = []
        for index, call in members:
            try:
                results.append((index, self.run(call)))
            except ProcessorError as exc:
                results.append((index, exc))
        return results


def check_input(alias: str, info: meta_graph_pb2.TensorInfo, dtype: int | None, shape: tuple[int, ...]) -> None:
    """Reject a dtype or shape the signature cannot take, naming the input."""
    if dtype is not None and dtype != info.dtype:
        raise ProcessorError(
            f"input '{alias}': expected dtype {types_pb2.DataType.Name(info.dtype)}, got {arrays.dtype_name(dtype)}"
        )
    expected = info.tensor_shape
    if expected.unknown_rank:
        return
    dims = [dim.size for dim in expected.dim]
    if len(dims) != len(shape) or any(want not in (-1, got) for want, got in zip(dims, shape, strict=False)):
        raise ProcessorError(f"input '{alias}': expected shape {dims}, got {list(shape)}")


def _describe_tensor(alias: str, info: meta_graph_pb2.TensorInfo) -> dict:
    shape = None if info.tensor_shape.unknown_rank else [dim.size for dim in info.tensor_shape.dim]
    return {"name": alias, "shape": shape, "type": types_pb2.DataType.Name(info.dtype)}
