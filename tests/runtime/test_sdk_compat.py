"""The unmodified official invocation SDK (`eas-prediction`) against instances.

The SDK pins protobuf<=3.20.3, so it lives in its own virtualenv (.venv-sdk, built by the Makefile
and CI) and runs in a subprocess. A missing .venv-sdk is a failure, never a skip.
"""

from __future__ import annotations

import json
import subprocess
import textwrap

import numpy as np
import pytest

from tests.runtime.models import pmml_formula
from tests.runtime.servers import SDK_PYTHON

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def run_sdk(script: str, **arguments) -> dict:
    if not SDK_PYTHON.is_file():
        pytest.fail(f"{SDK_PYTHON} is missing: build it with `python3 -m venv .venv-sdk && "
                    ".venv-sdk/bin/pip install eas-prediction` (the Makefile does)")
    code = "import json, sys\nargs = json.loads(sys.argv[1])\n" + textwrap.dedent(script)
    completed = subprocess.run([str(SDK_PYTHON), "-c", code, json.dumps(arguments)],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_tf_request_with_custom_url_and_with_endpoint(tf_servers, mlp_model):
    images = np.random.default_rng(21).random((1, 784), dtype=np.float32)
    result = run_sdk("""
        from eas_prediction import PredictClient, TFRequest
        out = {}
        for mode in ("custom_url", "endpoint"):
            if mode == "custom_url":
                client = PredictClient(custom_url=args["url"] + "/api/predict/mnist")
            else:
                client = PredictClient(args["url"], "mnist")
            client.set_token("any-token")
            client.init()
            req = TFRequest("predict_images")
            req.add_feed("images", [1, 784], TFRequest.DT_FLOAT, args["images"])
            resp = client.predict(req)
            out[mode] = {"shape": resp.get_tensor_shape("scores"), "values": list(resp.get_values("scores"))}
            client.destroy()
        print(json.dumps(out))
    """, url=tf_servers.main.url, images=images.ravel().tolist())
    expected = mlp_model.reference(images)
    for mode in ("custom_url", "endpoint"):
        assert result[mode]["shape"] == [1, 10]
        np.testing.assert_allclose(np.array(result[mode]["values"]).reshape(1, 10), expected, rtol=1e-5, atol=1e-6)


def test_tf_request_string_and_int64_feeds(tf_servers):
    result = run_sdk("""
        from eas_prediction import PredictClient, TFRequest
        client = PredictClient(custom_url=args["url"])
        client.init()
        req = TFRequest("serving_default")
        req.add_feed("text", [2], TFRequest.DT_STRING, [b"sdk", b"ok"])
        req.add_feed("flag", [2], TFRequest.DT_BOOL, [True, True])
        req.add_feed("big", [2], TFRequest.DT_INT64, [5, 6])
        req.add_feed("small", [2, 2], TFRequest.DT_INT32, [1, 1, 2, 2])
        req.add_feed("precise", [2], TFRequest.DT_DOUBLE, [4.0, 8.0])
        req.add_feed("byte", [2], TFRequest.DT_UINT8, [1, 2])
        req.add_fetch("upper")
        req.add_fetch("doubled")
        resp = client.predict(req)
        print(json.dumps({"upper": [v.decode() for v in resp.get_values("upper")],
                          "doubled": list(resp.get_values("doubled"))}))
    """, url=tf_servers.dtypes.url)
    assert result == {"upper": ["SDK", "OK"], "doubled": [10, 12]}


def test_string_request_against_pmml_and_python(start_server, pmml_model, python_apps):
    pmml = start_server(["--processor", "pmml", "--model", str(pmml_model)])
    seed = start_server(["--processor-type", "python", "--processor-path", str(python_apps.seed),
                         "--processor-entry", "app.py"])
    result = run_sdk("""
        from eas_prediction import PredictClient, StringRequest
        from eas_prediction.exception import PredictException
        out = {}
        pmml = PredictClient(args["pmml"], "heart_predict_online")
        pmml.init()
        out["pmml"] = json.loads(pmml.predict(StringRequest('[{"x1": 1, "x2": 2, "count": 3}]')).response_data)
        seed = PredictClient(custom_url=args["seed"] + "/test")
        seed.init()
        out["seed"] = seed.predict(StringRequest("10 20")).response_data.decode()
        try:
            seed.predict(StringRequest("10 2000"))
        except PredictException as exc:
            out["seed_error"] = str(exc)
        print(json.dumps(out))
    """, pmml=pmml.url, seed=seed.url)
    assert result["pmml"][0]["predicted_y"] == pytest.approx(pmml_formula(x1=1, x2=2, count=3))
    assert result["seed"] == "True"
    assert "400" in result["seed_error"]


def test_torch_request(start_server, torch_model):
    server = start_server(["--processor", "pytorch_cpu_1.6", "--model", str(torch_model.path)])
    x = np.random.default_rng(5).random((2, 4), dtype=np.float32)
    y = np.random.default_rng(6).random((2, 4), dtype=np.float32)
    result = run_sdk("""
        from eas_prediction import PredictClient, TorchRequest
        client = PredictClient(custom_url=args["url"])
        client.init()
        req = TorchRequest()
        req.add_feed(0, [2, 4], TorchRequest.DT_FLOAT, args["x"])
        req.add_feed(1, [2, 4], TorchRequest.DT_FLOAT, args["y"])
        resp = client.predict(req)
        print(json.dumps({"shape": resp.get_tensor_shape(0), "first": list(resp.get_values(0)),
                          "second": list(resp.get_values(1))}))
    """, url=server.url, x=x.ravel().tolist(), y=y.ravel().tolist())
    first, second = torch_model.reference(x, y)
    assert result["shape"] == [2, 3]
    np.testing.assert_allclose(np.array(result["first"]).reshape(2, 3), first, rtol=1e-6)
    np.testing.assert_allclose(np.array(result["second"]).reshape(2, 4), second, rtol=1e-6)
