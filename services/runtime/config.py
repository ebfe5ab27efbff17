"""Instance configuration: CLI flags and service.json merged into one validated object.

The node agent passes `--metadata` as the service.json `metadata` object; EAS accepts both the
nested form (`{"rpc": {"batching": true}}`) and the dotted form (`{"rpc.batching": true}`), often
with string values ("true", "5000"), so everything is flattened and coerced here, once.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

PROCESSOR_TYPES = ("python", "cpp", "java")


class ConfigError(ValueError):
    """A configuration problem the operator must fix; the message names the offending field."""


@dataclass(frozen=True)
class RpcOptions:
    """The `rpc.*` metadata keys of the seeds, with their documented defaults."""

    worker_threads: int = 5
    io_threads: int = 4
    max_queue_size: int = 64
    keepalive_ms: int = 5000
    batching: bool = False
    max_batch_size: int = 16
    max_batch_timeout_ms: int = 50

    @property
    def keepalive_s(self) -> float:
        return self.keepalive_ms / 1000.0

    @property
    def max_batch_timeout_s(self) -> float:
        return self.max_batch_timeout_ms / 1000.0


@dataclass
class RuntimeConfig:
    """Everything one instance needs to load its processor and serve."""

    processor: str | None = None
    model_path: str | None = None
    model_entry: str | None = None
    model_config: str = ""
    processor_path: str | None = None
    processor_entry: str | None = None
    processor_type: str | None = None
    processor_mainclass: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    warm_up_data_path: str | None = None
    warm_up_count: int = 5
    host: str = "0.0.0.0"
    port: int = 8080
    grpc_port: int = 0
    model_name: str = "default"
    tf_serving_target: str | None = None
    tf_model_server: str | None = None
    base_dir: str = "."
    rpc: RpcOptions = field(init=False)

    def __post_init__(self) -> None:
        self.metadata = flatten_metadata(self.metadata)
        self.rpc = rpc_options(self.metadata)
        self.model_config = model_config_text(self.model_config)
        if self.processor_type is not None and self.processor_type not in PROCESSOR_TYPES:
            raise ConfigError(
                f"processor_type: must be one of {', '.join(PROCESSOR_TYPES)}, got {self.processor_type!r}"
            )
        if not self.processor and not self.processor_type:
            raise ConfigError("processor: give a processor code (e.g. tensorflow_cpu_2.7) or a processor_type")
        if self.processor_type in PROCESSOR_TYPES and not self.processor_entry:
            raise ConfigError(f"processor_entry: required when processor_type is {self.processor_type}")
        if self.processor_type == "java" and not self.processor_mainclass:
            raise ConfigError("processor_mainclass: required when processor_type is java (e.g. com.alibaba.eas.TestProcessor)")
        if self.warm_up_count < 1:
            raise ConfigError("--warm-up-count: must be at least 1")


SERVICE_JSON_FIELDS = (
    "processor",
    "model_path",
    "model_entry",
    "model_config",
    "processor_path",
    "processor_entry",
    "processor_type",
    "processor_mainclass",
    "warm_up_data_path",
)


def read_service_json(path: str) -> dict[str, Any]:
    """Pick the fields an instance needs out of a service description (service.json).

    Relative paths inside it are resolved against the file's own directory (`base_dir`), so
    `eascmd test` behaves the same wherever it is started from.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            service = json.load(handle)
    except OSError as exc:
        raise ConfigError(f"--service-json: cannot read {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--service-json: {path} is not valid JSON ({exc})") from exc
    if not isinstance(service, dict):
        raise ConfigError(f"--service-json: {path} must contain a JSON object")
    fields = {name: service[name] for name in SERVICE_JSON_FIELDS if service.get(name) not in (None, "")}
    fields["metadata"] = flatten_metadata(service.get("metadata") or {})
    if service.get("name"):
        fields["model_name"] = str(service["name"])
    fields["base_dir"] = os.path.dirname(os.path.abspath(path))
    return fields


def flatten_metadata(metadata: dict[str, Any] | None, prefix: str = "") -> dict[str, Any]:
    """Turn nested metadata objects into dotted keys; dotted keys pass through unchanged."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ConfigError("metadata: must be a JSON object")
    flat: dict[str, Any] = {}
    for key, value in metadata.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_metadata(value, prefix=f"{name}."))
        else:
            flat[name] = value
    return flat


def rpc_options(metadata: dict[str, Any]) -> RpcOptions:
    """Read the rpc.* keys (and their `workers` alias) from flattened metadata."""
    defaults = RpcOptions()
    worker_threads = metadata.get("rpc.worker_threads", metadata.get("workers", defaults.worker_threads))
    options = RpcOptions(
        worker_threads=_as_int("rpc.worker_threads", worker_threads),
        io_threads=_as_int("rpc.io_threads", metadata.get("rpc.io_threads", defaults.io_threads)),
        max_queue_size=_as_int("rpc.max_queue_size", metadata.get("rpc.max_queue_size", defaults.max_queue_size)),
        keepalive_ms=_as_int("rpc.keepalive", metadata.get("rpc.keepalive", defaults.keepalive_ms)),
        batching=_as_bool("rpc.batching", metadata.get("rpc.batching", defaults.batching)),
        max_batch_size=_as_int("rpc.max_batch_size", metadata.get("rpc.max_batch_size", defaults.max_batch_size)),
        max_batch_timeout_ms=_as_int(
            "rpc.max_batch_timeout", metadata.get("rpc.max_batch_timeout", defaults.max_batch_timeout_ms)
        ),
    )
    for name, value, minimum in (
        ("rpc.worker_threads", options.worker_threads, 1),
        ("rpc.io_threads", options.io_threads, 1),
        ("rpc.max_queue_size", options.max_queue_size, 0),
        ("rpc.keepalive", options.keepalive_ms, 1),
        ("rpc.max_batch_size", options.max_batch_size, 1),
        ("rpc.max_batch_timeout", options.max_batch_timeout_ms, 0),
    ):
        if value < minimum:
            raise ConfigError(f"metadata.{name}: must be >= {minimum}, got {value}")
    return options


def model_config_text(value: Any) -> str:
    """model_config may be a string or an object in service.json; processors always get text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def parse_metadata_json(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--metadata: not valid JSON ({exc})") from exc
    return flatten_metadata(value)


def _as_int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"metadata.{name}: expected an integer, got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"metadata.{name}: expected an integer, got {value!r}") from None


def _as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise ConfigError(f"metadata.{name}: expected true or false, got {value!r}")
