"""TorchScript processor (`pytorch_cpu_*`, `pytorch_gpu_*`) speaking the eas-prediction SDK's
TorchRequest/TorchResponse protobuf.

`inputs` are the positional arguments of `forward()`; `map_inputs`, when given, is passed as one
more argument (a Dict[str, Tensor]). A tensor, a tuple/list of tensors or a dict of tensors comes
back as `outputs` (by position) or `map_outputs` (by name). `output_filter` selects positions and
returns them in the order asked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from google.protobuf.message import DecodeError

from ..protos import torch_predict_pb2
from . import arrays
from .base import Processor, ProcessorError, Request, Response

log = logging.getLogger("services.runtime.pytorch")

TORCHSCRIPT_SUFFIXES = (".pt", ".pth", ".jit", ".torchscript")


def find_torchscript_file(path: Path) -> Path:
    if path.is_file():
        return path
    candidates = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TORCHSCRIPT_SUFFIXES)
    if len(candidates) != 1:
        found = ", ".join(p.name for p in candidates) or "none"
        raise ProcessorError(f"expected one TorchScript file under {path} (found: {found}); set model_entry", 500)
    return candidates[0]


@dataclass(slots=True)
class TorchCall:
    inputs: list[np.ndarray]
    map_inputs: dict[str, np.ndarray]
    output_filter: tuple[int, ...]

    def batch_key(self) -> tuple | None:
        if self.map_inputs or any(value.ndim == 0 for value in self.inputs) or not self.inputs:
            return None
        return tuple((value.dtype.str, value.shape[1:]) for value in self.inputs), self.output_filter


class TorchScriptProcessor(Processor):
    supports_batching = True

    def __init__(self, code: str, model_path: Path) -> None:
        self.code = code
        self._model_path = model_path
        self._module = None
        self.device = torch.device("cpu")

    def load(self) -> None:
        if "_gpu_" in self.code:
            if torch.cuda.is_available():
                self.device = torch.device("cuda")
            else:
                log.warning("%s asks for a GPU but none is visible; running on CPU", self.code)
        path = find_torchscript_file(self._model_path)
        try:
            self._module = torch.jit.load(str(path), map_location=self.device).eval()
        except (RuntimeError, ValueError) as exc:
            raise ProcessorError(f"cannot load TorchScript module {path.name}: {exc}", 500) from None
        log.info("loaded TorchScript module %s with torch %s on %s", path.name, torch.__version__, self.device)

    def close(self) -> None:
        self._module = None

    def predict(self, request: Request) -> Response:
        return self._response(self._run(self._prepare(request.body)))

    def predict_batch(self, requests: list[Request]) -> list[Response | ProcessorError]:
        results: list[Response | ProcessorError | None] = [None] * len(requests)
        groups: dict[object, list[tuple[int, TorchCall]]] = {}
        for index, request in enumerate(requests):
            try:
                call = self._prepare(request.body)
            except ProcessorError as exc:
                results[index] = exc
                continue
            groups.setdefault(call.batch_key() or ("single", index), []).append((index, call))
        for members in groups.values():
            for index, outcome in self._run_group(members):
                results[index] = outcome if isinstance(outcome, ProcessorError) else self._response(outcome)
        return results

    def _prepare(self, body: bytes) -> TorchCall:
        if not body:
            raise ProcessorError("empty request: a TorchScript model has no structure to describe; send a TorchRequest")
        request = torch_predict_pb2.PredictRequest()
        try:
            request.ParseFromString(body)
        except DecodeError:
            raise ProcessorError("request body is not a valid TorchRequest protobuf") from None
        inputs = [arrays.decode(str(index), array) for index, array in enumerate(request.inputs)]
        map_inputs = {name: arrays.decode(name, array) for name, array in request.map_inputs.items()}
        for name, value in [*enumerate(inputs), *map_inputs.items()]:
            if value.dtype == object:
                raise ProcessorError(f"input '{name}': DT_STRING cannot be a torch tensor")
        if not inputs and not map_inputs:
            raise ProcessorError("the TorchRequest has no inputs")
        return TorchCall(inputs, map_inputs, tuple(request.output_filter))

    def _run(self, call: TorchCall) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
        arguments = [torch.tensor(value, device=self.device) for value in call.inputs]
        if call.map_inputs:
            arguments.append({name: torch.tensor(value, device=self.device) for name, value in call.map_inputs.items()})
        try:
            with torch.inference_mode():
                result = self._module(*arguments)
        except (RuntimeError, TypeError, ValueError) as exc:
            raise ProcessorError(f"model failed on the request: {exc}") from None
        outputs, map_outputs = _split_result(result)
        if call.output_filter:
            if any(index < 0 or index >= len(outputs) for index in call.output_filter):
                raise ProcessorError(f"output_filter {list(call.output_filter)} is out of range: the model has "
                                     f"{len(outputs)} outputs")
            outputs = [outputs[index] for index in call.output_filter]
        return outputs, map_outputs

    def _run_group(self, members: list[tuple[int, TorchCall]]):
        """Run compatible calls concatenated along dim 0 and split the outputs back."""
        if len(members) > 1:
            calls = [call for _, call in members]
            merged = TorchCall(
                [np.concatenate([call.inputs[i] for call in calls]) for i in range(len(calls[0].inputs))],
                {},
                calls[0].output_filter,
            )
            total = merged.inputs[0].shape[0]
            try:
                outputs, map_outputs = self._run(merged)
            except ProcessorError:
                outputs, map_outputs = None, None  # a bad request spoils the merged call: answer one by one
            values = [*(outputs or []), *(map_outputs or {}).values()]
            if outputs is not None and values and all(v.ndim and v.shape[0] == total for v in values):
                offsets = np.cumsum([call.inputs[0].shape[0] for call in calls])[:-1]
                split_outputs = [np.split(value, offsets) for value in outputs]
                split_map = {name: np.split(value, offsets) for name, value in map_outputs.items()}
                return [
                    (index, ([parts[n] for parts in split_outputs], {name: parts[n] for name, parts in split_map.items()}))
                    for n, (index, _) in enumerate(members)
                ]
        results = []
        for index, call in members:
            try:
                results.append((index, self._run(call)))
            except ProcessorError as exc:
                results.append((index, exc))
        return results

    @staticmethod
    def _response(result: tuple[list[np.ndarray], dict[str, np.ndarray]]) -> Response:
        outputs, map_outputs = result
        response = torch_predict_pb2.PredictResponse()
        for value in outputs:
            arrays.encode(value, response.outputs.add())
        for name, value in map_outputs.items():
            arrays.encode(value, response.map_outputs[name])
        return Response(response.SerializeToString())


def _split_result(result) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    if isinstance(result, torch.Tensor):
        return [_to_numpy(result)], {}
    if isinstance(result, tuple | list) and all(isinstance(item, torch.Tensor) for item in result):
        return [_to_numpy(item) for item in result], {}
    if isinstance(result, dict) and all(isinstance(item, torch.Tensor) for item in result.values()):
        return [], {str(name): _to_numpy(item) for name, item in result.items()}
    raise ProcessorError(f"model returned {type(result).__name__}; expected tensors, a tuple of tensors or a dict")


def _to_numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()
