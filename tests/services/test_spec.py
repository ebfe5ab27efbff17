"""Service descriptions: the seeds' examples pass, every bad field gets its own message."""
import json

import pytest

from services import spec

REGION = "cn-shanghai"

SEED_EXAMPLES = [
    {"name": "mnist_saved_model_example", "generate_token": "true",
     "model_path": "http://eas-data.oss-cn-shanghai.aliyuncs.com/models%2Fmnist_saved_model.tar.gz",
     "processor": "tensorflow_cpu_1.12", "metadata": {"instance": 1, "cpu": 1}},
    {"name": "pmml_test", "generate_token": "true", "model_path": "http://xxxxx/lr.pmml",
     "processor": "pmml", "metadata": {"instance": 1, "cpu": 1}},
    {"name": "pytorch_serving_test", "generate_token": "true", "model_path": "http://xxxxx/torchscript_model.pt",
     "processor": "pytorch_gpu_1.6", "metadata": {"instance": 1, "cpu": 1, "gpu": 1, "cuda": "10.0",
                                                  "memory": 2000}},
    {"name": "pysdk_demo", "processor_entry": "./app.py", "processor_type": "python",
     "processor_path": "oss://eas-model-beijing/1955570263925790/pack.tar.gz",
     "oss_endpoint": "oss-cn-beijing.aliyuncs.com",
     "metadata": {"instance": 1, "memory": 2000, "cpu": 1}},
    {"name": "tf_serving_test", "model_path": "http://examplebucket.oss-cn-shanghai.aliyuncs.com/models/model.tar.gz",
     "processor": "tensorflow_cpu_1.15", "warm_up_data_path": "oss://path/to/warm_up_test.bin",
     "oss_endpoint": "oss-cn-shanghai.aliyuncs.com", "metadata": {"instance": 1, "cpu": 1, "memory": 4000}},
]


@pytest.mark.parametrize("example", SEED_EXAMPLES, ids=lambda e: e["name"])
def test_seed_examples_are_valid(example):
    parsed = spec.parse(json.dumps(example), region=REGION)
    assert parsed["name"] == example["name"]
    assert parsed["metadata"]["instance"] == 1


def test_defaults_and_normalisation():
    parsed = spec.parse({"name": "demo", "processor": "pmml", "model_path": "/models/lr.pmml",
                         "generate_token": "false",
                         "metadata": {"instance": "2", "rpc": {"keepalive": 800, "batching": "true"}}},
                        region=REGION)
    assert parsed["generate_token"] is False
    assert parsed["metadata"] == {"instance": 2, "rpc.keepalive": 800, "rpc.batching": "true"}
    assert spec.resources(parsed) == spec.Resources(cpu=1, memory_mb=1000, gpu=0)


def test_every_bad_field_is_reported_at_once():
    with pytest.raises(spec.SpecError) as raised:
        spec.parse({
            "name": "Bad-Name", "processor": "tensorflow_cpu_1.15", "token": "short",
            "model_path": "ftp://x/model.tar.gz", "modle_entry": "x",
            "metadata": {"instance": -1, "cpu": "many", "rpc.keepalive": 0, "colour": "blue"},
        }, region=REGION)
    errors = raised.value.errors
    assert set(errors) == {"name", "token", "model_path", "modle_entry", "metadata.instance",
                           "metadata.cpu", "metadata.rpc.keepalive", "metadata.colour"}
    assert "lowercase letter" in errors["name"]
    assert "did you mean 'model_entry'" in errors["modle_entry"]
    assert "between 0 and 1000" in errors["metadata.instance"]


@pytest.mark.parametrize("description, field, fragment", [
    ({"name": "a", "metadata": {"instance": 1}}, "processor", "required"),
    ({"name": "a", "processor": "pmml", "metadata": {"instance": 1}}, "model_path", "required"),
    ({"name": "a", "processor": "pmml", "model_path": "/m"}, "metadata", "required"),
    ({"name": "a", "processor": "mediaflow", "model_path": "/m", "metadata": {"instance": 1}},
     "processor", "proprietary"),
    ({"name": "a", "processor": "sklearn", "model_path": "/m", "metadata": {"instance": 1}},
     "processor", "unknown processor"),
    ({"name": "a", "processor_type": "java", "processor_path": "/p", "processor_entry": "p.jar",
      "metadata": {"instance": 1}}, "processor_mainclass", "required when processor_type is java"),
    ({"name": "a", "processor_type": "java", "processor_path": "/p", "processor_entry": "p.jar",
      "processor_mainclass": "com.x.Not A Class", "metadata": {"instance": 1}}, "processor_mainclass", "e.g."),
    ({"name": "a", "processor_type": "python", "processor_path": "/p", "processor_entry": "app.py",
      "processor_mainclass": "com.x.P", "metadata": {"instance": 1}}, "processor_mainclass", "only for"),
    ({"name": "a", "processor_type": "ruby", "processor_path": "/p", "metadata": {"instance": 1}},
     "processor_type", "python, cpp or java"),
    ({"name": "a", "processor_type": "python", "processor_path": "/p", "metadata": {"instance": 1}},
     "processor_entry", "required"),
    ({"name": "a", "processor": "pmml", "model_path": "oss://bucket/lr.pmml", "metadata": {"instance": 1}},
     "oss_endpoint", "required"),
    ({"name": "a", "processor": "pmml", "model_path": "/m", "data_image": "img", "metadata": {"instance": 1}},
     "data_image", "not supported"),
    ({"name": "a", "processor": "pmml", "model_path": "/m", "metadata": {"instance": 1, "region": "cn-beijing"}},
     "metadata.region", "cn-shanghai"),
])
def test_single_problems_are_named(description, field, fragment):
    with pytest.raises(spec.SpecError) as raised:
        spec.parse(description, region=REGION)
    assert fragment in raised.value.errors[field]


def test_invalid_json_is_reported():
    with pytest.raises(spec.SpecError) as raised:
        spec.parse('{"name": "a",', region=REGION)
    assert "not valid JSON" in raised.value.errors["service"]


def test_only_instance_change_is_a_scale():
    base = spec.parse({"name": "a", "processor": "pmml", "model_path": "/m", "metadata": {"instance": 1}},
                      region=REGION)
    scaled = spec.parse(spec.merge(base, {"metadata": {"instance": 3}}), region=REGION)
    assert not spec.needs_new_version(base, scaled)
    new_model = spec.parse(spec.merge(base, {"model_path": "/m2"}), region=REGION)
    assert spec.needs_new_version(base, new_model)
    more_cpu = spec.parse(spec.merge(base, {"metadata": {"cpu": 2}}), region=REGION)
    assert spec.needs_new_version(base, more_cpu)


def test_quota_stands_for_cores_and_memory():
    parsed = spec.parse({"name": "a", "processor": "pmml", "model_path": "/m",
                         "metadata": {"instance": 1, "quota": 2}}, region=REGION)
    assert spec.resources(parsed) == spec.Resources(cpu=2, memory_mb=8192, gpu=0)
    assert spec.resources(parsed).quota == 2


def test_java_processor_keeps_its_main_class_and_a_new_class_is_a_new_version():
    base = spec.parse({"name": "diy_test", "processor_type": "java", "processor_path": "/p/processor.tar.gz",
                       "processor_entry": "processor.jar", "processor_mainclass": "com.alibaba.eas.TestProcessor",
                       "metadata": {"instance": 1}}, region=REGION)
    assert (base["processor_type"], base["processor_mainclass"]) == ("java", "com.alibaba.eas.TestProcessor")
    renamed = spec.parse(spec.merge(base, {"processor_mainclass": "com.alibaba.eas.Other"}), region=REGION)
    assert spec.needs_new_version(base, renamed)
