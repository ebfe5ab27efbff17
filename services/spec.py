"""Service descriptions (`service.json`): parsing, validation and defaults (SPEC S1).

A description is validated as a whole and every bad field gets its own message, so a user
fixes everything in one round. The result is a normalised description: what is stored as
an immutable service version, shown by DescribeService and handed to instances.
"""
import difflib
import json
import math
import re
import secrets
from dataclasses import dataclass
from typing import Any

from resourcegroups.billing import MAX_QUOTA
from services.runtime.config import (
    PROCESSOR_TYPES,
    ConfigError,
    flatten_metadata,
    model_config_text,
    rpc_options,
)

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
JAVA_CLASS_NAME = re.compile(r"^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$")
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9+/=_\-.]{8,128}$")
URI_SCHEMES = ("http://", "https://", "oss://", "file://")
QUOTA_CORES = 1
QUOTA_MEMORY_MB = 4096
MAX_INSTANCES = 1000
MAX_PUBLIC_QUOTA = MAX_QUOTA  # per instance on the public resource group

# Processor codes of the seeds' table that this platform serves, by family.
PROCESSOR_FAMILIES = {
    "pmml": re.compile(r"^pmml$"),
    "tensorflow": re.compile(r"^tensorflow_(cpu|gpu)_\d+\.\d+$"),
    "pytorch": re.compile(r"^pytorch_(cpu|gpu)_\d+\.\d+$"),
}
# Codes of the seeds whose runtimes are proprietary; refused with a clear reason (SPEC P6).
PROPRIETARY_PROCESSORS = re.compile(
    r"^(caffe_(cpu|gpu)|parameter_sever|alink_pai_processor|xnn_cpu|easy_vision_.*|easy_nlp_.*"
    r"|blade_.*|mediaflow)$"
)

TOP_LEVEL_FIELDS = {
    "name", "token", "generate_token", "model_path", "oss_endpoint", "model_entry", "model_config",
    "processor", "processor_path", "processor_entry", "processor_mainclass", "processor_type",
    "data_image", "warm_up_data_path", "plugins", "metadata",
}
METADATA_FIELDS = {
    "instance", "cpu", "gpu", "memory", "quota", "resource", "workers", "cuda", "region",
    "rpc.batching", "rpc.keepalive", "rpc.io_threads", "rpc.max_batch_size",
    "rpc.max_batch_timeout", "rpc.max_queue_size", "rpc.worker_threads", "rpc.enable_jemalloc",
    "eas.handlers.disable_failure_handler", "warm_up_count_per_instance",
}
# Fields whose change needs new instances (a new version); `metadata.instance` alone only scales.
VERSIONED_FIELDS = ("model_path", "oss_endpoint", "model_entry", "model_config", "processor",
                    "processor_path", "processor_entry", "processor_type", "processor_mainclass",
                    "warm_up_data_path")


class SpecError(Exception):
    """An invalid description; `errors` maps each bad field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))


@dataclass(frozen=True)
class Resources:
    """What one instance occupies on its machine."""

    cpu: int
    memory_mb: int
    gpu: int

    @property
    def quota(self) -> int:
        return max(self.cpu // QUOTA_CORES, math.ceil(self.memory_mb / QUOTA_MEMORY_MB), 1)


def load_description(raw: str | bytes | dict) -> dict:
    """A description from JSON text or an already-decoded object."""
    if isinstance(raw, dict):
        return raw
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SpecError({"service": f"not valid JSON ({exc})"}) from exc
    if not isinstance(data, dict):
        raise SpecError({"service": "must be a JSON object"})
    return data


def processor_family(code: str) -> str | None:
    return next((family for family, pattern in PROCESSOR_FAMILIES.items() if pattern.match(code)), None)


def is_custom(description: dict) -> bool:
    return not description.get("processor")


def parse(raw: str | bytes | dict, *, region: str) -> dict:
    """Validate a whole description and return it normalised, or raise SpecError."""
    data = load_description(raw)
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}

    for field in sorted(set(data) - TOP_LEVEL_FIELDS):
        errors[field] = unknown_field_message(field, TOP_LEVEL_FIELDS)

    name = data.get("name")
    if not isinstance(name, str) or not name:
        errors["name"] = "required"
    elif not NAME_PATTERN.match(name):
        errors["name"] = ("must start with a lowercase letter and contain only lowercase letters, "
                          "digits and underscores (at most 63 characters)")
    else:
        out["name"] = name

    generate_token = data.get("generate_token", True)
    try:
        out["generate_token"] = as_bool(generate_token)
    except ValueError:
        errors["generate_token"] = f"expected true or false, got {generate_token!r}"
    token = data.get("token")
    if token not in (None, ""):
        if not isinstance(token, str) or not TOKEN_PATTERN.match(token):
            errors["token"] = "must be 8 to 128 characters of letters, digits and +/=_-."
        else:
            out["token"] = token

    parse_processor(data, out, errors)
    parse_sources(data, out, errors)

    for field in ("data_image", "plugins"):
        if data.get(field):
            errors[field] = UNSUPPORTED[field]

    metadata = parse_metadata(data.get("metadata"), errors, region=region)
    if metadata is not None:
        out["metadata"] = metadata

    if errors:
        raise SpecError(errors)
    return out


UNSUPPORTED = {
    "data_image": "container images are not supported; package the Python environment in the "
                  "processor archive's ENV folder (eascmd pysdk pack) instead",
    "plugins": "optimisation plugins are not available on this platform",
}


def parse_processor(data: dict, out: dict, errors: dict) -> None:
    processor = data.get("processor")
    processor_type = data.get("processor_type")
    if processor not in (None, ""):
        if not isinstance(processor, str):
            errors["processor"] = "must be a processor code such as tensorflow_cpu_1.15"
        elif PROPRIETARY_PROCESSORS.match(processor):
            errors["processor"] = (f"{processor} relies on a proprietary runtime that this platform does "
                                   "not ship; use a custom processor instead")
        elif processor_family(processor) is None:
            errors["processor"] = (f"unknown processor code {processor!r}; use pmml, "
                                   "tensorflow_cpu_<version>, tensorflow_gpu_<version>, "
                                   "pytorch_cpu_<version>, pytorch_gpu_<version> or a custom processor")
        else:
            out["processor"] = processor
        if processor_type not in (None, ""):
            errors["processor_type"] = "give either processor (built-in) or processor_type (custom), not both"
        return

    if processor_type in (None, ""):
        errors["processor"] = "required: a built-in processor code, or processor_type for a custom processor"
        return
    if processor_type not in PROCESSOR_TYPES:
        errors["processor_type"] = f"must be python, cpp or java, got {processor_type!r}"
        return
    out["processor_type"] = processor_type
    entry = data.get("processor_entry")
    if not isinstance(entry, str) or not entry:
        errors["processor_entry"] = (f"required when processor_type is {processor_type} "
                                     "(e.g. app.py, libprocessor.so or processor.jar)")
    else:
        out["processor_entry"] = entry
    mainclass = data.get("processor_mainclass")
    if processor_type == "java":
        if not isinstance(mainclass, str) or not JAVA_CLASS_NAME.match(mainclass):
            errors["processor_mainclass"] = ("required when processor_type is java: the processor class in the "
                                             "jar, e.g. com.alibaba.eas.TestProcessor")
        else:
            out["processor_mainclass"] = mainclass
    elif mainclass not in (None, ""):
        errors["processor_mainclass"] = "only for processor_type java"
    if not data.get("processor_path"):
        errors["processor_path"] = "required for a custom processor: where its code package is"


def parse_sources(data: dict, out: dict, errors: dict) -> None:
    for field in ("model_path", "processor_path", "warm_up_data_path"):
        value = data.get(field)
        if value in (None, ""):
            continue
        if not isinstance(value, str) or not (value.startswith(URI_SCHEMES) or value.startswith(("/", "."))):
            errors[field] = "must be an http(s)://, oss:// or local path"
        else:
            out[field] = value
    if "processor" in out and "model_path" not in out and "model_path" not in errors:
        errors["model_path"] = "required for built-in processors"
    uses_external_oss = any(
        out.get(f, "").startswith("oss://") and not out[f].startswith("oss://eas-model-")
        for f in ("model_path", "processor_path", "warm_up_data_path")
    )
    endpoint = data.get("oss_endpoint")
    if endpoint not in (None, ""):
        if not isinstance(endpoint, str) or " " in endpoint:
            errors["oss_endpoint"] = "must be a host name such as oss-cn-beijing.aliyuncs.com"
        else:
            out["oss_endpoint"] = endpoint
    elif uses_external_oss:
        errors["oss_endpoint"] = "required when a path is an oss:// address outside your model repository"
    for field in ("model_entry",):
        if data.get(field) not in (None, ""):
            if not isinstance(data[field], str):
                errors[field] = "must be a path inside the model"
            else:
                out[field] = data[field]
    if data.get("model_config") not in (None, ""):
        if not isinstance(data["model_config"], str | dict | list):
            errors["model_config"] = "must be a string or a JSON object"
        else:
            out["model_config"] = data["model_config"]


def parse_metadata(raw: Any, errors: dict, *, region: str) -> dict | None:
    if raw is None:
        errors["metadata"] = "required (at least metadata.instance)"
        return None
    try:
        metadata = flatten_metadata(raw)
    except ConfigError:
        errors["metadata"] = "must be a JSON object"
        return None
    for key in sorted(set(metadata) - METADATA_FIELDS):
        errors[f"metadata.{key}"] = unknown_field_message(key, METADATA_FIELDS)

    def integer(key: str, minimum: int, maximum: int, required: bool = False) -> None:
        if key not in metadata:
            if required:
                errors[f"metadata.{key}"] = "required"
            return
        value = metadata[key]
        try:
            if isinstance(value, bool) or float(value) != int(float(value)):
                raise ValueError
            number = int(float(value))
        except (TypeError, ValueError):
            errors[f"metadata.{key}"] = f"expected an integer, got {value!r}"
            return
        if not minimum <= number <= maximum:
            errors[f"metadata.{key}"] = f"must be between {minimum} and {maximum}, got {number}"
            return
        metadata[key] = number

    integer("instance", 0, MAX_INSTANCES, required=True)
    integer("cpu", 1, 256)
    integer("gpu", 0, 16)
    integer("memory", 64, 4 * 1024 * 1024)
    integer("quota", 1, 100)
    integer("workers", 1, 1024)
    integer("warm_up_count_per_instance", 1, 1000)
    for key in ("rpc.enable_jemalloc", "eas.handlers.disable_failure_handler"):
        if key in metadata:
            try:
                metadata[key] = as_bool(metadata[key])
            except ValueError:
                errors[f"metadata.{key}"] = f"expected true or false, got {metadata[key]!r}"
    try:
        rpc_options(metadata)
    except ConfigError as exc:
        field, _, message = str(exc).partition(": ")
        errors[field if field.startswith("metadata.") else "metadata.rpc"] = message or str(exc)
    for key in ("resource", "cuda", "region"):
        if key in metadata and not isinstance(metadata[key], str):
            errors[f"metadata.{key}"] = "must be a string"
    if metadata.get("region") not in (None, region):
        errors["metadata.region"] = f"this platform serves region {region}, not {metadata['region']}"
    return metadata


def resources(description: dict) -> Resources:
    """Per-instance resources; a Quota stands for 1 core and 4 GB (public resource group)."""
    metadata = description["metadata"]
    if "quota" in metadata:
        quota = metadata["quota"]
        return Resources(cpu=quota * QUOTA_CORES, memory_mb=quota * QUOTA_MEMORY_MB, gpu=metadata.get("gpu", 0))
    return Resources(cpu=metadata.get("cpu", 1), memory_mb=metadata.get("memory", 1000),
                     gpu=metadata.get("gpu", 0))


def runtime_model_config(description: dict) -> str:
    return model_config_text(description.get("model_config"))


def generate_token() -> str:
    return secrets.token_urlsafe(36)


def needs_new_version(old: dict, new: dict) -> bool:
    """Does changing `old` into `new` require new instances (a rolling update)?"""
    if any(old.get(f) != new.get(f) for f in VERSIONED_FIELDS):
        return True
    strip = {"instance"}
    return ({k: v for k, v in old["metadata"].items() if k not in strip}
            != {k: v for k, v in new["metadata"].items() if k not in strip})


def merge(old: dict, changes: dict) -> dict:
    """An update in merge mode: metadata merges key by key, other fields replace."""
    merged = {**old, **{k: v for k, v in changes.items() if k != "metadata"}}
    merged["metadata"] = {**old.get("metadata", {}), **flatten_metadata(changes.get("metadata") or {})}
    return merged


def unknown_field_message(field: str, known: set[str]) -> str:
    close = difflib.get_close_matches(field, sorted(known), n=1)
    return "unknown field" + (f"; did you mean {close[0]!r}?" if close else "")


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(value)
