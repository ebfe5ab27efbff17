"""Configuration: metadata in every shape EAS accepts, service.json, CLI precedence, local sources."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile

import pytest

from services.runtime.__main__ import build_parser, config_from_args
from services.runtime.config import ConfigError, RpcOptions, RuntimeConfig
from services.runtime.processors import processor_family
from services.runtime.sources import local_path, materialize


def test_defaults_are_the_seed_defaults():
    assert RuntimeConfig(processor="pmml").rpc == RpcOptions(
        worker_threads=5, io_threads=4, max_queue_size=64, keepalive_ms=5000, batching=False,
        max_batch_size=16, max_batch_timeout_ms=50,
    )


@pytest.mark.parametrize(
    "metadata",
    [
        {"rpc": {"batching": True, "keepalive": 500, "worker_threads": 2, "max_batch_size": 4}},
        {"rpc.batching": "true", "rpc.keepalive": "500", "rpc.worker_threads": "2", "rpc.max_batch_size": 4},
        {"rpc.batching": 1, "rpc": {"keepalive": 500, "max_batch_size": "4"}, "workers": 2},
    ],
    ids=["nested", "dotted-strings", "mixed-with-workers-alias"],
)
def test_metadata_shapes(metadata):
    rpc = RuntimeConfig(processor="pmml", metadata=metadata).rpc
    assert (rpc.batching, rpc.keepalive_ms, rpc.worker_threads, rpc.max_batch_size) == (True, 500, 2, 4)


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"rpc.worker_threads": "many"}, "metadata.rpc.worker_threads: expected an integer"),
        ({"rpc.batching": "yes please"}, "metadata.rpc.batching: expected true or false"),
        ({"rpc": {"keepalive": 0}}, "metadata.rpc.keepalive: must be >= 1"),
    ],
)
def test_bad_metadata_names_the_field(metadata, message):
    with pytest.raises(ConfigError, match=message):
        RuntimeConfig(processor="pmml", metadata=metadata)


def test_custom_processors_need_an_entry_and_java_a_main_class():
    with pytest.raises(ConfigError, match="processor_entry: required"):
        RuntimeConfig(processor_type="cpp")
    with pytest.raises(ConfigError, match="processor_mainclass: required"):
        RuntimeConfig(processor_type="java", processor_entry="x.jar")
    assert RuntimeConfig(processor_type="java", processor_entry="x.jar",
                         processor_mainclass="com.alibaba.eas.TestProcessor").processor_mainclass
    with pytest.raises(ConfigError, match="processor: give a processor code"):
        RuntimeConfig()


def test_service_json_then_flags(tmp_path):
    service = {
        "name": "svc", "processor": "tensorflow_cpu_1.15", "model_path": "model", "model_entry": "saved",
        "model_config": {"a": 1}, "warm_up_data_path": "warm.bin",
        "metadata": {"instance": 1, "rpc": {"keepalive": 9000, "worker_threads": 3}},
    }
    (tmp_path / "service.json").write_text(json.dumps(service))
    args = build_parser().parse_args([
        "--service-json", str(tmp_path / "service.json"), "--port", "9999",
        "--metadata", '{"rpc.worker_threads": 7}',
    ])
    config = config_from_args(args)
    assert config.processor == "tensorflow_cpu_1.15"
    assert config.model_config == '{"a": 1}'
    assert config.model_name == "svc"
    assert config.base_dir == str(tmp_path)
    assert config.port == 9999
    assert (config.rpc.keepalive_ms, config.rpc.worker_threads) == (9000, 7)


@pytest.mark.parametrize(
    ("code", "family"),
    [("tensorflow_cpu_1.12", "tensorflow"), ("tensorflow_gpu_2.7", "tensorflow"), ("tensorflow_cpu_2.21", "tensorflow"),
     ("pytorch_gpu_1.6", "pytorch"), ("pmml", "pmml")],
)
def test_processor_codes(code, family):
    assert processor_family(code) == family


def test_unknown_and_proprietary_processor_codes():
    with pytest.raises(ConfigError, match="proprietary"):
        processor_family("easy_vision_gpu_tf1.12_torch151")
    with pytest.raises(ConfigError, match="unknown processor code 'tensorflow_cpu_9.9'"):
        processor_family("tensorflow_cpu_9.9")


def test_local_sources(tmp_path):
    (tmp_path / "model.pmml").write_text("x")
    assert local_path("model_path", "model.pmml", str(tmp_path)) == tmp_path / "model.pmml"
    assert local_path("model_path", f"file://{tmp_path}/model.pmml", "/") == tmp_path / "model.pmml"
    with pytest.raises(ConfigError, match="https:// sources must be downloaded"):
        local_path("model_path", "https://example.com/m.tar.gz", str(tmp_path))
    with pytest.raises(ConfigError, match="does not exist"):
        local_path("model_path", "missing.pmml", str(tmp_path))


def test_archives_are_extracted_and_traversal_is_refused(tmp_path):
    good = tmp_path / "good.tar.gz"
    with tarfile.open(good, "w:gz") as archive:
        data = b"saved"
        info = tarfile.TarInfo("model/1/saved_model.pb")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    extracted = materialize("model", good, tmp_path / "work")
    assert (extracted / "model" / "1" / "saved_model.pb").read_bytes() == b"saved"

    evil_tar = tmp_path / "evil.tar"
    with tarfile.open(evil_tar, "w") as archive:
        info = tarfile.TarInfo("../../escaped.txt")
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(ConfigError, match="cannot extract evil.tar"):
        materialize("processor", evil_tar, tmp_path / "work2")

    evil_zip = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil_zip, "w") as archive:
        archive.writestr("../escaped.txt", "x")
    with pytest.raises(ConfigError, match="unsafe path"):
        materialize("processor", evil_zip, tmp_path / "work3")
    assert not (tmp_path / "escaped.txt").exists()
