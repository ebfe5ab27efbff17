"""Request bodies in the EAS protobuf formats, built the way the SDKs build them."""

from __future__ import annotations

import numpy as np

from services.runtime.protos import tf_predict_pb2, torch_predict_pb2


def images_request(images: np.ndarray, signature: str = "predict_images") -> bytes:
    request = tf_predict_pb2.PredictRequest(signature_name=signature)
    array = request.inputs["images"]
    array.dtype = tf_predict_pb2.DT_FLOAT
    array.array_shape.dim.extend(images.shape)
    array.float_val.extend(images.ravel().tolist())
    return request.SerializeToString()


def dtype_request(text, flag, big, small, precise, byte) -> bytes:
    request = tf_predict_pb2.PredictRequest()
    rows = len(text)

    def add(name, dtype, shape, field, values):
        array = request.inputs[name]
        array.dtype = dtype
        array.array_shape.dim.extend(shape)
        getattr(array, field).extend(values)

    add("text", tf_predict_pb2.DT_STRING, [rows], "string_val", [t.encode() for t in text])
    add("flag", tf_predict_pb2.DT_BOOL, [rows], "bool_val", flag)
    add("big", tf_predict_pb2.DT_INT64, [rows], "int64_val", big)
    add("small", tf_predict_pb2.DT_INT32, [rows, 2], "int_val", [v for pair in small for v in pair])
    add("precise", tf_predict_pb2.DT_DOUBLE, [rows], "double_val", precise)
    add("byte", tf_predict_pb2.DT_UINT8, [rows], "int_val", byte)
    return request.SerializeToString()


def torch_request(*inputs: np.ndarray, output_filter: tuple[int, ...] = ()) -> bytes:
    request = torch_predict_pb2.PredictRequest(output_filter=list(output_filter))
    for value in inputs:
        array = request.inputs.add()
        if value.dtype == np.float32:
            array.dtype = torch_predict_pb2.DT_FLOAT
            array.float_val.extend(value.ravel().tolist())
        elif value.dtype == np.int64:
            array.dtype = torch_predict_pb2.DT_INT64
            array.int64_val.extend(value.ravel().tolist())
        array.array_shape.dim.extend(value.shape)
    return request.SerializeToString()
