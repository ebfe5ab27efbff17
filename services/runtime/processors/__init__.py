"""Processor registry: maps a service's `processor` code (or custom `processor_type`) to an implementation.

Framework modules are imported only for the processor actually used, so a PMML instance never
pays for importing TensorFlow.
"""

from __future__ import annotations

import re
import shutil
from importlib import metadata
from pathlib import Path

from ..config import ConfigError, RuntimeConfig
from ..sources import entry_path, local_path, materialize
from .base import Processor

# Processor codes of the EAS seed tables; all run on the installed framework version.
TENSORFLOW_CODES = frozenset(
    [f"tensorflow_cpu_{version}" for version in ("1.12", "1.14", "1.15", "2.3", "2.4", "2.7")]
    + [f"tensorflow_gpu_{version}" for version in ("1.12", "1.14", "1.15", "2.4", "2.7")]
)
PYTORCH_CODES = frozenset(["pytorch_cpu_1.6", "pytorch_gpu_1.6"])
PMML_CODE = "pmml"
# Seed processors backed by proprietary runtimes; named here so the error says so.
PROPRIETARY_CODES = frozenset([
    "caffe_cpu", "caffe_gpu", "parameter_sever", "alink_pai_processor", "xnn_cpu",
    "easy_vision_cpu_tf1.12_torch151", "easy_vision_gpu_tf1.12_torch151", "easy_nlp_cpu_tf1.12",
    "easy_nlp_gpu_tf1.12", "blade_cpu", "blade_cuda10.0_beta", "mediaflow",
])


def _installed_codes(prefix: str, distribution: str) -> set[str]:
    """Codes naming the installed framework version too (e.g. tensorflow_cpu_2.21)."""
    try:
        version = metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return set()
    short = ".".join(re.findall(r"\d+", version)[:2])
    return {f"{prefix}_cpu_{short}", f"{prefix}_gpu_{short}"}


def processor_family(code: str) -> str:
    if code == PMML_CODE:
        return "pmml"
    if code in TENSORFLOW_CODES or code in _installed_codes("tensorflow", "tensorflow"):
        return "tensorflow"
    if code in PYTORCH_CODES or code in _installed_codes("pytorch", "torch"):
        return "pytorch"
    if code in PROPRIETARY_CODES:
        raise ConfigError(f"processor: {code} needs a proprietary EAS runtime and is not supported here")
    known = sorted(TENSORFLOW_CODES | PYTORCH_CODES | {PMML_CODE})
    raise ConfigError(f"processor: unknown processor code {code!r} (known: {', '.join(known)})")


def _model(config: RuntimeConfig, workdir: Path, required: bool) -> Path | None:
    if not config.model_path:
        if required:
            raise ConfigError("model_path: required for processor " + str(config.processor))
        return None
    source = materialize("model", local_path("model_path", config.model_path, config.base_dir), workdir)
    path = entry_path(source, config.model_entry)
    if not path.exists():
        raise ConfigError(f"model_entry: {path} does not exist")
    return path


def create_processor(config: RuntimeConfig, workdir: Path) -> Processor:
    """Build (not load) the processor the configuration asks for."""
    if config.processor_type is not None:
        from .isolated import IsolatedProcessor

        processor_source = local_path("processor_path", config.processor_path or ".", config.base_dir)
        processor_root = materialize("processor", processor_source, workdir)
        return IsolatedProcessor(
            kind=config.processor_type,
            root=processor_root,
            entry=config.processor_entry,
            model_entry=_model(config, workdir, required=False),
            model_config=config.model_config,
            worker_threads=config.rpc.worker_threads,
            mainclass=config.processor_mainclass,
        )
    family = processor_family(config.processor)
    model = _model(config, workdir, required=not (family == "tensorflow" and config.tf_serving_target))
    if family == "tensorflow":
        if config.tf_model_server and shutil.which(config.tf_model_server) is None:
            raise ConfigError(f"--tf-model-server: {config.tf_model_server} is not an executable on PATH; install "
                              "TensorFlow Serving or use the default in-process backend")
        from .tensorflow import TensorFlowProcessor

        return TensorFlowProcessor(
            config.processor,
            model,
            model_name=config.model_name,
            timeout_s=config.rpc.keepalive_s,
            serving_target=config.tf_serving_target,
            model_server_binary=config.tf_model_server,
        )
    if family == "pytorch":
        from .pytorch import TorchScriptProcessor

        return TorchScriptProcessor(config.processor, model)
    from .pmml import PMMLProcessor

    return PMMLProcessor(model)
