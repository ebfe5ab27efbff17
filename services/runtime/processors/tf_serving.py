"""TF Serving's own APIs on a TensorFlow instance: REST on the HTTP port, gRPC on `--grpc-port`.

Clients written for TensorFlow Serving (`/v1/models/<name>:predict`, `/v1/models/<name>/metadata`,
the `PredictionService` Predict/GetModelMetadata RPCs) work unchanged. One instance serves one
model, so any model name is accepted and answered as version 1. Requests go through the same
admission control as EAS requests (queue -> 450/RESOURCE_EXHAUSTED, keepalive -> 408/
DEADLINE_EXCEEDED).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time

import grpc
import numpy as np
import tensorflow as tf
from aiohttp import web
from google.protobuf import json_format
from tensorflow_serving.apis import get_model_metadata_pb2, predict_pb2, prediction_service_pb2_grpc

from ..engine import STATUS_QUEUE_FULL, STATUS_TIMEOUT, Engine
from ..scheduling import QueueFull, RequestTimeout
from .base import ProcessorError
from .tensorflow import PreparedCall, TensorFlowProcessor, check_input
from .tf_backends import GRPC_MESSAGE_LIMIT

log = logging.getLogger("services.runtime.tf_serving")

MODEL_VERSION = 1
REST_PREFIX = "/v1/models/"
_REST_PATH = re.compile(
    r"^(?P<name>[^/:]+)(?:/versions/(?P<version>\d+)|/labels/(?P<label>[^/:]+))?"
    r"(?::(?P<verb>[a-z]+)|/(?P<metadata>metadata))?$"
)
_GRPC_STATUS = {400: grpc.StatusCode.INVALID_ARGUMENT, 408: grpc.StatusCode.DEADLINE_EXCEEDED,
                450: grpc.StatusCode.RESOURCE_EXHAUSTED, 503: grpc.StatusCode.UNAVAILABLE}


# ---- conversions -------------------------------------------------------------------------------

def predict_serving(processor: TensorFlowProcessor, request: predict_pb2.PredictRequest) -> predict_pb2.PredictResponse:
    """A TF Serving PredictRequest, answered by the processor's model."""
    signature_name = request.model_spec.signature_name or processor.default_signature
    signature = processor.signature(signature_name)
    processor.check_input_names(signature_name, signature, request.inputs.keys())
    inputs = {}
    for alias, tensor in request.inputs.items():
        shape = tuple(dim.size for dim in tensor.tensor_shape.dim)
        check_input(alias, signature.inputs[alias], tensor.dtype, shape)
        try:
            inputs[alias] = tf.make_ndarray(tensor)
        except (ValueError, TypeError) as exc:
            raise ProcessorError(f"input '{alias}': {exc}") from None
    call = PreparedCall(signature_name, inputs, processor.check_output_filter(signature_name, request.output_filter))
    outputs = processor.run(call)
    response = predict_pb2.PredictResponse()
    response.model_spec.name = request.model_spec.name or processor.model_name
    response.model_spec.version.value = MODEL_VERSION
    response.model_spec.signature_name = signature_name
    for alias, value in outputs.items():
        response.outputs[alias].CopyFrom(tf.make_tensor_proto(value))
    return response


def signature_def_map(processor: TensorFlowProcessor) -> get_model_metadata_pb2.SignatureDefMap:
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    for name, signature in processor.signature_defs.items():
        signature_map.signature_def[name].CopyFrom(signature)
    return signature_map


def model_metadata(processor: TensorFlowProcessor, model_name: str) -> get_model_metadata_pb2.GetModelMetadataResponse:
    response = get_model_metadata_pb2.GetModelMetadataResponse()
    response.model_spec.name = model_name or processor.model_name
    response.model_spec.version.value = MODEL_VERSION
    response.metadata["signature_def"].Pack(signature_def_map(processor))
    return response


def predict_rest(processor: TensorFlowProcessor, document: dict) -> dict:
    """TF Serving's REST predict: row ("instances") or columnar ("inputs") format."""
    signature_name = document.get("signature_name") or processor.default_signature
    signature = processor.signature(signature_name)
    aliases = sorted(signature.inputs)
    if "instances" in document:
        instances = document["instances"]
        if not isinstance(instances, list) or not instances:
            raise ProcessorError('"instances" must be a non-empty list')
        if all(isinstance(instance, dict) for instance in instances):
            columns = {}
            for alias in aliases:
                if any(alias not in instance for instance in instances):
                    raise ProcessorError(f"missing input '{alias}' in an instance")
                columns[alias] = [instance[alias] for instance in instances]
        elif len(aliases) == 1:
            columns = {aliases[0]: instances}
        else:
            raise ProcessorError(f"instances must be objects naming the inputs {aliases}")
        row_format = True
    elif "inputs" in document:
        value = document["inputs"]
        if isinstance(value, dict) and "b64" not in value:
            columns = value
        elif len(aliases) == 1:
            columns = {aliases[0]: value}
        else:
            raise ProcessorError(f'"inputs" must be an object naming the inputs {aliases}')
        row_format = False
    else:
        raise ProcessorError('missing "instances" or "inputs" in the request body')
    processor.check_input_names(signature_name, signature, columns.keys())
    inputs = {}
    for alias, value in columns.items():
        info = signature.inputs[alias]
        array = _from_json(alias, value, tf.dtypes.as_dtype(info.dtype))
        check_input(alias, info, None, array.shape)
        inputs[alias] = array
    filter_ = processor.check_output_filter(signature_name, document.get("output_filter", ()))
    outputs = processor.run(PreparedCall(signature_name, inputs, filter_))
    if not row_format:
        if len(outputs) == 1:
            return {"outputs": _to_json(next(iter(outputs.values())))}
        return {"outputs": {alias: _to_json(value) for alias, value in outputs.items()}}
    if len(outputs) == 1:
        return {"predictions": _to_json(next(iter(outputs.values())))}
    rows = min(value.shape[0] if value.ndim else 1 for value in outputs.values())
    return {"predictions": [{alias: _to_json(value[row]) for alias, value in outputs.items()} for row in range(rows)]}


def _from_json(alias: str, value, dtype: tf.DType) -> np.ndarray:
    try:
        if dtype == tf.string:
            return np.array(_decode_strings(value), dtype=object)
        return np.asarray(value, dtype=dtype.as_numpy_dtype)
    except (ValueError, TypeError) as exc:
        raise ProcessorError(f"input '{alias}': cannot convert to {dtype.name}: {exc}") from None


def _decode_strings(value):
    if isinstance(value, list):
        return [_decode_strings(item) for item in value]
    if isinstance(value, dict) and "b64" in value:
        return base64.b64decode(value["b64"])
    if isinstance(value, str):
        return value.encode()
    raise ValueError(f"expected a string or {{'b64': ...}}, got {value!r}")


def _to_json(value):
    value = np.asarray(value)
    if value.dtype.kind in ("O", "S"):
        return _encode_strings(value.tolist())
    if value.dtype.kind == "f" and value.dtype.itemsize < 4:
        value = value.astype(np.float32)
    return value.tolist()


def _encode_strings(value):
    if isinstance(value, list):
        return [_encode_strings(item) for item in value]
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return {"b64": base64.b64encode(value).decode()}
    return value


# ---- REST --------------------------------------------------------------------------------------

def rest_handler(engine: Engine, processor: TensorFlowProcessor):
    """aiohttp handler for every path under REST_PREFIX."""

    async def handle(request: web.Request) -> web.Response:
        match = _REST_PATH.match(request.path[len(REST_PREFIX):])
        if match is None:
            return _rest_error(404, f"unknown TF Serving path {request.path}")
        name = match["name"]
        if match["version"] and int(match["version"]) != MODEL_VERSION:
            return _rest_error(404, f"Servable not found for request: Specific({name}, {match['version']})")
        if request.method == "GET" and match["metadata"]:
            body = json_format.MessageToDict(model_metadata(processor, name), preserving_proto_field_name=True)
            body["metadata"] = {"signature_def": json_format.MessageToDict(
                signature_def_map(processor), preserving_proto_field_name=True)}
            return web.json_response(body)
        if request.method == "GET" and not match["verb"]:
            state = "AVAILABLE" if engine.ready else "LOADING"
            return web.json_response({"model_version_status": [
                {"version": str(MODEL_VERSION), "state": state, "status": {"error_code": "OK", "error_message": ""}}
            ]})
        if request.method != "POST" or match["verb"] != "predict":
            return _rest_error(404, f"{request.method} {request.path} is not supported (only :predict)")
        started = time.perf_counter()
        body = await request.read()
        status, payload = await _rest_predict(engine, processor, body)
        response = web.json_response(payload, status=status)
        if status in (STATUS_QUEUE_FULL, STATUS_TIMEOUT):
            response.force_close()
        engine.metrics.observe_request(status, len(body), response.content_length or 0, time.perf_counter() - started)
        return response

    return handle


async def _rest_predict(engine: Engine, processor: TensorFlowProcessor, body: bytes) -> tuple[int, dict]:
    if not engine.ready:
        return 503, {"error": f"instance is not ready: {engine.health_status}"}
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return 400, {"error": f"request body is not valid JSON: {exc}"}
    if not isinstance(document, dict):
        return 400, {"error": "request body must be a JSON object"}
    try:
        return 200, await engine.call(predict_rest, processor, document)
    except QueueFull:
        return STATUS_QUEUE_FULL, {"error": "request dropped: the instance queue is full"}
    except RequestTimeout:
        return STATUS_TIMEOUT, {"error": f"request timed out after {engine.rpc.keepalive_ms}ms"}
    except ProcessorError as exc:
        return exc.status, {"error": str(exc)}
    except Exception:
        log.exception("unexpected error in a TF Serving REST request")
        return 500, {"error": "internal error while processing the request"}


def _rest_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


# ---- gRPC --------------------------------------------------------------------------------------

class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, engine: Engine, processor: TensorFlowProcessor) -> None:
        self._engine = engine
        self._processor = processor

    async def Predict(self, request, context):  # noqa: N802 (gRPC method name)
        started = time.perf_counter()
        status, response, message = await self._call(predict_serving, self._processor, request)
        self._engine.metrics.observe_request(
            status, request.ByteSize(), response.ByteSize() if response else 0, time.perf_counter() - started
        )
        if response is None:
            await context.abort(_GRPC_STATUS.get(status, grpc.StatusCode.INTERNAL), message)
        return response

    async def GetModelMetadata(self, request, context):  # noqa: N802 (gRPC method name)
        unsupported = [field for field in request.metadata_field if field != "signature_def"]
        if unsupported:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"metadata field {unsupported[0]} is not supported")
        if not self._engine.ready:
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"instance is not ready: {self._engine.health_status}")
        return model_metadata(self._processor, request.model_spec.name)

    async def _call(self, function, *args):
        if not self._engine.ready:
            return 503, None, f"instance is not ready: {self._engine.health_status}"
        try:
            return 200, await self._engine.call(function, *args), ""
        except QueueFull:
            return STATUS_QUEUE_FULL, None, "request dropped: the instance queue is full"
        except RequestTimeout:
            return STATUS_TIMEOUT, None, f"request timed out after {self._engine.rpc.keepalive_ms}ms"
        except ProcessorError as exc:
            return exc.status, None, str(exc)
        except Exception:
            log.exception("unexpected error in a TF Serving gRPC request")
            return 500, None, "internal error while processing the request"


async def start_grpc_server(engine: Engine, processor: TensorFlowProcessor, host: str, port: int) -> grpc.aio.Server:
    server = grpc.aio.server(options=[
        ("grpc.max_send_message_length", GRPC_MESSAGE_LIMIT),
        ("grpc.max_receive_message_length", GRPC_MESSAGE_LIMIT),
    ])
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionServicer(engine, processor), server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot listen for gRPC on {host}:{port}")
    await server.start()
    return server
