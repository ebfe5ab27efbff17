"""The README's "Deploy your first model" walkthrough, command for command, with the example model
shipped in examples/heart_predict."""
import json
import math
import re

import httpx
import pytest

from tests import harness

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(300)]

EXAMPLE = harness.ROOT / "examples" / "heart_predict" / "lr.pmml"
COEFFICIENTS = {"sex": -1.1, "cp": -0.55, "age": -0.035, "trestbps": -0.012, "chol": -0.004, "thalach": 0.021}
MISSING = {"trestbps": 130, "chol": 240, "thalach": 150}


def probability_healthy(record: dict) -> float:
    """The example model's logistic regression, with its missing-value replacements."""
    values = {**MISSING, **record}
    score = 3.2 + sum(weight * values[name] for name, weight in COEFFICIENTS.items())
    return 1 / (1 + math.exp(-score))


def test_readme_walkthrough_with_the_example_model(platform, tmp_path):
    uploaded = platform.ok("upload", "examples/heart_predict/lr.pmml")
    model = re.search(r"oss target path: \[(.+)\]", uploaded).group(1)
    assert model.endswith(f"/{platform.account.uid}/examples/heart_predict/lr.pmml")

    description = tmp_path / "heart.json"
    description.write_text(json.dumps({"name": "heart_predict", "processor": "pmml", "model_path": model,
                                       "metadata": {"instance": 1, "cpu": 1}}))
    platform.ok("create", str(description))
    platform.wait_for("heart_predict", Status="Running")

    token = platform.describe("heart_predict")["AccessToken"]
    records = [{"sex": 0, "cp": 0, "age": 52}, {"sex": 1, "cp": 3, "age": 70, "trestbps": 160, "chol": 300,
                                                 "thalach": 110}]
    (instance,) = platform.instances("heart_predict")
    answer = httpx.post(f"http://{instance['InnerIP']}:{instance['InstancePort']}/", json=records,
                        headers={"Authorization": token}, timeout=10).json()
    assert [row["probability_1"] for row in answer] == pytest.approx([probability_healthy(r) for r in records])
    assert [row["predicted_ifhealthy"] for row in answer] == [1, 0]

    platform.ok("delete", "heart_predict", "-y")
