"""PMML processor (`pmml`): a JSON list of records in, a JSON list of results out.

Scoring runs in PyPMML's JVM (one py4j gateway per instance, started once: ~0.5 s). Missing
inputs are filled with EAS's defaults (BOOLEAN false, DOUBLE/FLOAT 0.0, INT 0, STRING "") unless
the model's MiningField declares its own `missingValueReplacement`. A whole request (and, with
batching, a whole batch) is scored with one JVM call.
"""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from .base import JSON_CONTENT_TYPE, Processor, ProcessorError, Request, Response

log = logging.getLogger("services.runtime.pmml")

MISSING_VALUE_DEFAULTS = {"boolean": False, "double": 0.0, "float": 0.0, "integer": 0, "string": ""}
PMML_SUFFIXES = (".pmml", ".xml")


def find_pmml_file(path: Path) -> Path:
    if path.is_file():
        return path
    candidates = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in PMML_SUFFIXES)
    if len(candidates) != 1:
        found = ", ".join(p.name for p in candidates) or "none"
        raise ProcessorError(f"expected one .pmml file under {path} (found: {found}); set model_entry", 500)
    return candidates[0]


def field_defaults(document: bytes) -> dict[str, object]:
    """Default value per active input field that has no replacement declared by the model itself."""
    root = ElementTree.fromstring(document)
    namespace = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    data_types = {
        field.get("name"): (field.get("dataType") or "").lower()
        for field in root.iter(f"{namespace}DataField")
    }
    defaults: dict[str, object] = {}
    for mining_field in root.iter(f"{namespace}MiningField"):
        name = mining_field.get("name")
        usage = mining_field.get("usageType", "active")
        if usage != "active" or mining_field.get("missingValueReplacement") is not None:
            continue
        data_type = data_types.get(name)
        if data_type in MISSING_VALUE_DEFAULTS:
            defaults[name] = MISSING_VALUE_DEFAULTS[data_type]
    return defaults


def _start_jvm() -> None:
    """Start PyPMML's py4j JVM in its own process group.

    Node agents stop an instance by signalling its whole process group; a JVM in that group would
    die at once on SIGTERM and fail the requests the server is still finishing. In its own group
    it lives until the server exits (py4j's die_on_exit ends it when our end of its stdin closes).
    """
    from py4j.java_gateway import GatewayParameters, JavaGateway, launch_gateway
    from pypmml import PMMLContext
    from pypmml.jvm import Py4jGateway

    if PMMLContext.gateway() is not None:
        return
    gateway = Py4jGateway()
    port = launch_gateway(classpath=gateway.classpath, javaopts=gateway.java_opts, die_on_exit=True,
                          create_new_process_group=True)
    Py4jGateway._gateway = JavaGateway(gateway_parameters=GatewayParameters(port=port, auto_convert=True))
    Py4jGateway._jvm = Py4jGateway._gateway.jvm
    PMMLContext(gateway_instance=gateway)


class PMMLProcessor(Processor):
    supports_batching = True

    def __init__(self, model_path: Path) -> None:
        self._model_path = model_path
        self._model = None
        self._defaults: dict[str, object] = {}

    def load(self) -> None:
        from pypmml import Model

        _start_jvm()
        path = find_pmml_file(self._model_path)
        try:
            self._defaults = field_defaults(path.read_bytes())
            self._model = Model.fromFile(str(path))
        except ElementTree.ParseError as exc:
            raise ProcessorError(f"{path.name} is not valid PMML XML: {exc}", 500) from None
        except Exception as exc:  # PyPMML surfaces Java exceptions under several types
            raise ProcessorError(f"cannot load {path.name}: {exc}", 500) from None
        log.info("loaded PMML model %s (inputs: %s; outputs: %s)", path.name,
                 ", ".join(self._model.inputNames), ", ".join(self._model.outputNames))

    def close(self) -> None:
        from pypmml import PMMLContext

        self._model = None
        PMMLContext.shutdown()

    def describe(self) -> dict:
        return {
            "inputs": [{"name": f.name, "type": f.dataType.upper(), "optype": f.opType} for f in self._model.inputFields],
            "outputs": [{"name": f.name, "type": f.dataType.upper()} for f in self._model.outputFields],
        }

    def predict(self, request: Request) -> Response:
        records = self._records(request.body)
        return Response(self._score(records).encode(), 200, JSON_CONTENT_TYPE)

    def predict_batch(self, requests: list[Request]) -> list[Response | ProcessorError]:
        results: list[Response | ProcessorError | None] = [None] * len(requests)
        parsed = []
        for index, request in enumerate(requests):
            try:
                parsed.append((index, self._records(request.body)))
            except ProcessorError as exc:
                results[index] = exc
        if parsed:
            try:
                scored = json.loads(self._score([record for _, records in parsed for record in records]))
            except ProcessorError:
                scored = None  # one bad request spoils the merged call: answer each one on its own
            offset = 0
            for index, records in parsed:
                if scored is None:
                    try:
                        results[index] = self.predict(requests[index])
                    except ProcessorError as exc:
                        results[index] = exc
                    continue
                part = scored[offset : offset + len(records)]
                offset += len(records)
                results[index] = Response(json.dumps(part, separators=(",", ":")).encode(), 200, JSON_CONTENT_TYPE)
        return results

    def _records(self, body: bytes) -> list[dict]:
        try:
            value = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ProcessorError(f"request body is not valid JSON: {exc}") from None
        records = [value] if isinstance(value, dict) else value
        if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
            raise ProcessorError("request body must be a JSON object or a list of objects (one per record)")
        return [self._fill_missing(record) for record in records]

    def _fill_missing(self, record: dict) -> dict:
        for name, default in self._defaults.items():
            if record.get(name) is None:
                record[name] = default
        return record

    def _score(self, records: list[dict]) -> str:
        if not records:
            return "[]"
        try:
            return self._model.predict(json.dumps(records))
        except Exception as exc:  # a Java-side scoring error: the request's fault
            raise ProcessorError(f"PMML scoring failed: {exc}") from None
