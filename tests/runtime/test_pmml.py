"""PMML processor against a hand-written regression whose formula the tests know."""

from __future__ import annotations

import json

import pytest

from tests.runtime.models import pmml_formula

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def pmml_server(log_dir, pmml_model):
    from tests.runtime.servers import RuntimeServer

    server = RuntimeServer(["--processor", "pmml", "--model", str(pmml_model)], log_dir, "pmml")
    try:
        yield server.wait_ready(60)
    finally:
        server.stop()


def scored(server, body) -> list[float]:
    response = server.post(json.dumps(body).encode())
    assert response.status_code == 200, response.text
    return [row["predicted_y"] for row in response.json()]


def test_list_of_records_matches_the_formula(pmml_server):
    records = [
        {"x1": 1.0, "x2": 2.0, "count": 4, "flag": True, "color": "red"},
        {"x1": -3.5, "x2": 0.5, "count": 1, "flag": False, "color": "blue"},
    ]
    assert scored(pmml_server, records) == pytest.approx([pmml_formula(**record) for record in records])


def test_single_object_in_list_out(pmml_server):
    record = {"x1": 2.0, "x2": 4.0, "count": 2, "flag": True, "color": "blue"}
    assert scored(pmml_server, record) == pytest.approx([pmml_formula(**record)])


@pytest.mark.parametrize(
    "record",
    [{"x1": 1.0}, {"x1": 1.0, "count": None, "flag": None}, {}],
    ids=["absent", "null", "empty"],
)
def test_missing_fields_get_the_eas_defaults(pmml_server, record):
    # BOOLEAN false, DOUBLE 0.0, INT 0, STRING "" -- and x2 keeps the model's own replacement (10).
    expected = pmml_formula(x1=record.get("x1") or 0.0)
    assert scored(pmml_server, [record]) == pytest.approx([expected])


def test_model_structure_on_empty_request(pmml_server):
    structure = pmml_server.post(b"").json()
    assert [field["name"] for field in structure["inputs"]] == ["x1", "x2", "count", "flag", "color"]
    assert {field["name"]: field["type"] for field in structure["inputs"]}["flag"] == "BOOLEAN"
    assert structure["outputs"][0]["name"] == "predicted_y"


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"text"'])
def test_malformed_requests_are_400(pmml_server, body):
    response = pmml_server.post(body)
    assert response.status_code == 400
    assert response.text
