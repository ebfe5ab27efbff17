"""JSON <-> the EAS TensorFlow protobuf, so the online-debug panel can call TF services.

The seeds say EAS cannot debug protobuf services online; here the panel sends inputs as JSON
(`{"name", "dtype", "shape", "values"}`, values nested or flat), this module builds the
`PredictRequest`, and the `PredictResponse` comes back as JSON with nested values.
"""
import math

from google.protobuf.message import DecodeError

from console.iam.errors import InvalidParameter
from services.runtime.protos import tf_predict_pb2 as pb

# dtype -> the ArrayProto field holding its values
VALUE_FIELDS = {
    "DT_FLOAT": "float_val", "DT_HALF": "float_val", "DT_BFLOAT16": "float_val",
    "DT_DOUBLE": "double_val",
    "DT_INT32": "int_val", "DT_INT16": "int_val", "DT_INT8": "int_val", "DT_UINT8": "int_val",
    "DT_UINT16": "int_val", "DT_QINT8": "int_val", "DT_QUINT8": "int_val", "DT_QINT32": "int_val",
    "DT_QINT16": "int_val", "DT_QUINT16": "int_val",
    "DT_INT64": "int64_val",
    "DT_BOOL": "bool_val",
    "DT_STRING": "string_val",
}


def _flatten(values) -> list:
    if not isinstance(values, list):
        return [values]
    flat = []
    for value in values:
        flat.extend(_flatten(value))
    return flat


def _shape_of(values) -> list[int]:
    shape = []
    while isinstance(values, list):
        shape.append(len(values))
        values = values[0] if values else None
    return shape


def _convert(name: str, dtype: str, values: list) -> list:
    try:
        if dtype == "DT_STRING":
            return [v.encode() if isinstance(v, str) else bytes(v) for v in values]
        if dtype == "DT_BOOL":
            return [bool(v) for v in values]
        if VALUE_FIELDS[dtype] in ("float_val", "double_val"):
            return [float(v) for v in values]
        return [int(v) for v in values]
    except (TypeError, ValueError) as exc:
        raise InvalidParameter(f"input '{name}': a value does not fit {dtype} ({exc}).") from None


def encode_request(data: dict) -> bytes:
    """A serialized PredictRequest from `{"signature_name", "inputs": [...], "output_filter": [...]}`."""
    request = pb.PredictRequest(signature_name=data.get("signature_name") or "")
    for item in data.get("inputs") or []:
        name, dtype = item.get("name") or "", item.get("dtype") or "DT_FLOAT"
        if dtype not in VALUE_FIELDS:
            raise InvalidParameter(f"input '{name}': dtype {dtype} cannot be sent from the debug panel.")
        values = item.get("values")
        flat = _flatten(values if values is not None else [])
        shape = item.get("shape") or _shape_of(values)
        if any(not isinstance(d, int) or d < 0 for d in shape):
            raise InvalidParameter(f"input '{name}': the shape must list non-negative integers, got {shape}.")
        if math.prod(shape) != len(flat):
            raise InvalidParameter(f"input '{name}': shape {shape} needs {math.prod(shape)} values, "
                                   f"got {len(flat)}.")
        array = request.inputs[name]
        array.dtype = pb.ArrayDataType.Value(dtype)
        array.array_shape.dim.extend(shape)
        getattr(array, VALUE_FIELDS[dtype]).extend(_convert(name, dtype, flat))
    request.output_filter.extend(data.get("output_filter") or [])
    return request.SerializeToString()


def _nest(flat: list, shape: list[int]):
    if not shape:
        return flat[0] if flat else None
    if len(shape) == 1:
        return flat
    step = math.prod(shape[1:])
    return [_nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def decode_response(body: bytes) -> dict:
    """`{"outputs": {name: {"dtype", "shape", "values"}}}` from a serialized PredictResponse."""
    response = pb.PredictResponse()
    try:
        response.ParseFromString(body)
    except DecodeError as exc:
        raise ValueError(f"not a PredictResponse: {exc}") from None
    outputs = {}
    for name, array in sorted(response.outputs.items()):
        dtype = pb.ArrayDataType.Name(array.dtype)
        flat = list(getattr(array, VALUE_FIELDS.get(dtype, "float_val")))
        if dtype == "DT_STRING":
            flat = [v.decode(errors="replace") for v in flat]
        shape = list(array.array_shape.dim)
        outputs[name] = {"dtype": dtype, "shape": shape,
                         "values": _nest(flat, shape) if math.prod(shape) == len(flat) else flat}
    return {"outputs": outputs}
