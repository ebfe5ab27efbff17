"""Conversions between the EAS `ArrayProto` message and numpy arrays.

The TensorFlow and PyTorch protocols share the ArrayProto layout and the TF DataType numbering,
so one codec serves both. EAS's ArrayProto has no field for half floats; DT_HALF and DT_BFLOAT16
travel in `float_val`, as the SDKs write them.
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np

from .base import ProcessorError

DT_NAMES = {
    0: "DT_INVALID", 1: "DT_FLOAT", 2: "DT_DOUBLE", 3: "DT_INT32", 4: "DT_UINT8", 5: "DT_INT16",
    6: "DT_INT8", 7: "DT_STRING", 8: "DT_COMPLEX64", 9: "DT_INT64", 10: "DT_BOOL", 11: "DT_QINT8",
    12: "DT_QUINT8", 13: "DT_QINT32", 14: "DT_BFLOAT16", 15: "DT_QINT16", 16: "DT_QUINT16",
    17: "DT_UINT16", 18: "DT_COMPLEX128", 19: "DT_HALF", 20: "DT_RESOURCE", 21: "DT_VARIANT",
}
DT_FLOAT, DT_DOUBLE, DT_INT32, DT_UINT8, DT_INT16, DT_INT8, DT_STRING = 1, 2, 3, 4, 5, 6, 7
DT_INT64, DT_BOOL, DT_BFLOAT16, DT_UINT16, DT_HALF = 9, 10, 14, 17, 19

# dtype enum -> (ArrayProto field holding the values, numpy dtype of the decoded array)
_DECODING: dict[int, tuple[str, object]] = {
    DT_FLOAT: ("float_val", np.float32),
    DT_HALF: ("float_val", np.float16),
    DT_BFLOAT16: ("float_val", ml_dtypes.bfloat16),
    DT_DOUBLE: ("double_val", np.float64),
    DT_INT32: ("int_val", np.int32),
    DT_INT16: ("int_val", np.int16),
    DT_INT8: ("int_val", np.int8),
    DT_UINT8: ("int_val", np.uint8),
    DT_UINT16: ("int_val", np.uint16),
    11: ("int_val", np.int8),  # DT_QINT8
    12: ("int_val", np.uint8),  # DT_QUINT8
    13: ("int_val", np.int32),  # DT_QINT32
    15: ("int_val", np.int16),  # DT_QINT16
    16: ("int_val", np.uint16),  # DT_QUINT16
    DT_INT64: ("int64_val", np.int64),
    DT_BOOL: ("bool_val", np.bool_),
    DT_STRING: ("string_val", object),
}

# numpy dtype -> (dtype enum, ArrayProto field the flattened values go to)
_ENCODING = {
    np.dtype(np.float32): (DT_FLOAT, "float_val"),
    np.dtype(np.float16): (DT_HALF, "float_val"),
    np.dtype(ml_dtypes.bfloat16): (DT_BFLOAT16, "float_val"),
    np.dtype(np.float64): (DT_DOUBLE, "double_val"),
    np.dtype(np.int32): (DT_INT32, "int_val"),
    np.dtype(np.int16): (DT_INT16, "int_val"),
    np.dtype(np.int8): (DT_INT8, "int_val"),
    np.dtype(np.uint8): (DT_UINT8, "int_val"),
    np.dtype(np.uint16): (DT_UINT16, "int_val"),
    np.dtype(np.int64): (DT_INT64, "int64_val"),
    np.dtype(np.uint32): (DT_INT64, "int64_val"),
    np.dtype(np.bool_): (DT_BOOL, "bool_val"),
}


def dtype_name(dtype: int) -> str:
    return DT_NAMES.get(dtype, f"DT_UNKNOWN({dtype})")


def decode(name: str, array) -> np.ndarray:
    """ArrayProto -> numpy array of its declared dtype and shape; ProcessorError names the input."""
    spec = _DECODING.get(array.dtype)
    if spec is None:
        raise ProcessorError(f"input '{name}': dtype {dtype_name(array.dtype)} is not supported")
    field, np_dtype = spec
    shape = tuple(array.array_shape.dim)
    if any(dim < 0 for dim in shape):
        raise ProcessorError(f"input '{name}': negative dimension in shape {list(shape)}")
    if not hasattr(array, field):
        raise ProcessorError(f"input '{name}': dtype {dtype_name(array.dtype)} is not supported by this protocol")
    values = getattr(array, field)
    expected = math.prod(shape)
    if len(values) != expected:
        raise ProcessorError(
            f"input '{name}': shape {list(shape)} needs {expected} values, got {len(values)} in {field}"
        )
    if np_dtype is object:
        return np.array(list(values), dtype=object).reshape(shape)
    if np_dtype in (np.float16, ml_dtypes.bfloat16):
        return np.asarray(values, dtype=np.float32).astype(np_dtype).reshape(shape)
    return np.asarray(values, dtype=np_dtype).reshape(shape)


def encode(value: np.ndarray, array) -> None:
    """Fill an (empty) ArrayProto from a numpy array."""
    value = np.asarray(value)
    array.array_shape.dim.extend(value.shape)
    if value.dtype.kind in ("O", "S", "U"):
        array.dtype = DT_STRING
        array.string_val.extend(_as_bytes(item) for item in value.ravel())
        return
    spec = _ENCODING.get(value.dtype)
    if spec is None:
        raise ProcessorError(f"output dtype {value.dtype} cannot be represented in ArrayProto")
    dtype, field = spec
    array.dtype = dtype
    flat = value.ravel()
    if dtype in (DT_HALF, DT_BFLOAT16):
        flat = flat.astype(np.float32)
    if not hasattr(array, field):  # the PyTorch ArrayProto has no bool_val
        field = "int_val"
    getattr(array, field).extend(flat.tolist())


def _as_bytes(item) -> bytes:
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode()
    return str(item).encode()
