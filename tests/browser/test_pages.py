"""Console pages rendered by Django's test client: permissions, forms and the domain calls they make.

The browser flow (test_console.py) shows the pages work end to end; these check the rules fast.
"""
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from console.iam.accounts import create_main_account
from frontend import tfjson
from frontend.views.monitoring import on_grid
from resourcegroups.models import Order, Price, ResourceGroup
from services import operations
from services.models import MetricPoint, Service
from services.monitoring.counts import CallCounts
from services.monitoring.series import call_series
from services.monitoring.store import write_window
from services.runtime.protos import tf_predict_pb2

SERVICE = "/services/cn-shanghai/heart/"


def test_overview_lists_groups_and_services(console, service, postpaid_group):
    page = console.get("/").content.decode()
    assert 'data-testid="groups-total">1<' in page and 'data-testid="groups-postpaid">1<' in page
    assert 'data-service="heart"' in page and "Deploy model" in page
    assert f'data-group="{postpaid_group.group_id}"' in page


def test_empty_overview_explains_what_to_do(console):
    page = console.get("/").content.decode()
    assert "No services yet" in page and "No dedicated resource groups yet" in page


def test_read_only_user_sees_no_write_buttons(reader, service):
    page = reader.get("/").content.decode()
    assert 'data-service="heart"' in page
    assert "Deploy model" not in page and "New resource group" not in page
    row = page[page.index('data-service="heart"'):]
    row = row[:row.index("</tr>")]
    for action in ("Stop", "Delete", "Scale", "Add version"):
        assert re.search(rf"<button [^>]*disabled[^>]*>{action}</button>", row), action
    assert re.search(r'<select name="version"[^>]* disabled>', row)
    assert "Online debug" in row and "Call info" in row  # eas:ReadInstance


@pytest.mark.parametrize("path, data", [
    ("stop/", {}), ("start/", {}), ("restart/", {}), ("scale/", {"instances": 3}),
    ("version/", {"version": 1}), ("delete/", {"confirm_name": "heart"}),
    ("add-version/", {"processor": "pmml", "model_source": "url", "model_path": "http://example.com/b.pmml"}),
])
def test_read_only_user_is_refused_every_service_write(reader, service, path, data):
    response = reader.post(SERVICE + path, data)
    assert response.status_code == 403, response.content
    assert b"not authorized" in response.content
    service.refresh_from_db()
    assert service.running and service.desired_instances == 1 and service.latest_version == 1


def test_read_only_user_cannot_buy_or_change_groups(reader, postpaid_group):
    assert reader.get("/resource-groups/buy/postpaid/").status_code == 403
    assert reader.post(f"/resource-groups/{postpaid_group.group_id}/scale-down/", {"count": 0}).status_code == 403
    assert reader.post(f"/resource-groups/{postpaid_group.group_id}/delete/").status_code == 403
    assert reader.get(f"/resource-groups/{postpaid_group.group_id}/").status_code == 200


def test_other_tenants_service_reads_as_missing(service, client):
    create_main_account("stranger", "stranger-pass-1")
    client.login(username="stranger", password="stranger-pass-1")
    assert client.get(SERVICE).status_code == 404
    assert client.post(SERVICE + "stop/").status_code == 404
    assert Service.objects.get(name="heart").running


def test_scale_dialog_changes_only_the_instance_count(console, service):
    response = console.post(SERVICE + "scale/", {"instances": 3}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and response["HX-Redirect"]
    service.refresh_from_db()
    assert (service.desired_instances, service.latest_version) == (3, 1)
    invalid = console.post(SERVICE + "scale/", {"instances": -1}, headers={"HX-Request": "true"})
    assert invalid.status_code == 400 and b"greater than or equal to 0" in invalid.content


def test_add_version_rolls_a_new_model(console, service):
    response = console.post(SERVICE + "add-version/", {
        "processor": "pmml", "model_source": "url", "model_path": "http://example.com/v2.pmml"})
    assert response.status_code == 302
    service.refresh_from_db()
    assert (service.latest_version, service.current_version) == (2, 2)
    assert service.description["model_path"] == "http://example.com/v2.pmml"
    switched = console.post(SERVICE + "version/", {"version": 1})
    assert switched.status_code == 302 and Service.objects.get(pk=service.pk).current_version == 1


def test_traffic_dialog_releases_the_associated_service(console, service):
    associated = operations.create_service(service.account, {
        "name": "heart", "processor": "pmml", "model_path": "http://example.com/b.pmml",
        "metadata": {"instance": 1, "quota": 1}}, associate=True)
    assert console.post(SERVICE + "traffic/", {"current": 20}).status_code == 400  # not associated
    response = console.post(f"/services/cn-shanghai/{associated.name}/traffic/", {"current": 20})
    assert response.status_code == 302
    associated.refresh_from_db()
    assert (associated.released, associated.traffic_weight) == (True, 80)


def test_delete_needs_the_name_typed(console, service):
    assert console.post(SERVICE + "delete/", {"confirm_name": "nope"}).status_code == 400
    assert console.post(SERVICE + "delete/", {"confirm_name": "heart"}).status_code == 302
    assert not Service.objects.filter(name="heart").exists()


def wizard_data(**overrides) -> dict:
    data = {"resource_group": "", "processor": "pmml", "resource_kind": "cpu", "model_source": "url",
            "model_path": "http://example.com/model.pmml", "mode": "new", "name": "wizard_one", "instances": 2,
            "quota": 2, "cpu": 1, "memory": 1000, "gpu": 0}
    return {**data, **overrides}


def test_wizard_creates_the_service_it_describes(console, owner):
    response = console.post("/deploy/", wizard_data())
    assert response.status_code == 302 and response["Location"] == "/services/cn-shanghai/wizard_one/"
    description = Service.objects.get(name="wizard_one").description
    assert description["metadata"] == {"instance": 2, "quota": 2}
    assert description["processor"] == "pmml" and description["model_path"] == "http://example.com/model.pmml"


def test_wizard_shows_spec_errors_next_to_their_fields(console, owner):
    response = console.post("/deploy/", wizard_data(name="Bad-Name", model_path="ftp://nowhere"))
    assert response.status_code == 400
    form = response.context["form"]
    assert "must start with a lowercase letter" in form.errors["name"][0]
    assert "http(s)://, oss:// or local path" in form.errors["model_path"][0]
    assert form.first_panel_has_errors


def test_wizard_custom_processor_on_a_dedicated_group(console, postpaid_group):
    refused = console.post("/deploy/", wizard_data(processor="custom", processor_type="python",
                                                   processor_path="http://example.com/p.tar.gz",
                                                   processor_entry="app.py", model_path=""))
    assert "dedicated resource group" in refused.context["form"].errors["processor"][0]
    response = console.post("/deploy/", wizard_data(
        processor="custom", processor_type="python", processor_path="http://example.com/p.tar.gz",
        processor_entry="app.py", model_path="", resource_group=postpaid_group.group_id, cpu=2, memory=2048))
    assert response.status_code == 302
    description = Service.objects.get(name="wizard_one").description
    assert description["metadata"] == {"instance": 2, "cpu": 2, "memory": 2048, "resource": postpaid_group.group_id}


def test_wizard_java_processor_needs_and_keeps_its_main_class(console, postpaid_group):
    java = dict(processor="custom", processor_type="java", processor_path="http://example.com/p.tar.gz",
                processor_entry="processor.jar", model_path="", resource_group=postpaid_group.group_id)
    missing = console.post("/deploy/", wizard_data(**java))
    assert "required when processor_type is java" in missing.context["form"].errors["processor_mainclass"][0]
    response = console.post("/deploy/", wizard_data(**java, processor_mainclass="com.alibaba.eas.TestProcessor"))
    assert response.status_code == 302
    description = Service.objects.get(name="wizard_one").description
    assert (description["processor_type"], description["processor_mainclass"]) == ("java",
                                                                                   "com.alibaba.eas.TestProcessor")


def test_wizard_blue_green_deploys_next_to_a_service(console, service):
    response = console.post("/deploy/", wizard_data(mode="bluegreen", origin="heart", name=""))
    assert response.status_code == 302
    associated = Service.objects.get(origin_name="heart")
    assert associated.name.startswith("heart_") and response["Location"].endswith(f"/{associated.name}/")


def test_json_mode_lists_every_problem(console, owner):
    response = console.post("/deploy/json/", {"service_json": json.dumps({"name": "x", "metadata": {}})})
    assert response.status_code == 400
    assert set(response.context["spec_errors"]) >= {"processor", "metadata.instance"}
    created = console.post("/deploy/json/", {"service_json": json.dumps({
        "name": "from_json", "processor": "pmml", "model_path": "http://example.com/m.pmml",
        "metadata": {"instance": 1}})})
    assert created.status_code == 302 and Service.objects.filter(name="from_json").exists()


def test_buy_postpaid_group_places_an_order(console, owner):
    response = console.post("/resource-groups/buy/postpaid/", {
        "region": "cn-shanghai", "machine_type": "ecs.g6.4xlarge", "count": 2, "name": "browser-pool"})
    assert response.status_code == 302
    group = ResourceGroup.objects.get(name="browser-pool")
    order = Order.objects.get(group=group)
    assert (group.charge_type, order.kind, order.count) == ("PostPaid", "Create", 2)
    refused = console.post("/resource-groups/buy/postpaid/", {
        "region": "cn-shanghai", "machine_type": "ecs.c5.6xlarge", "count": 1})
    assert refused.status_code == 400  # a prepaid-only type is not offered postpaid


def test_postpaid_group_scaled_to_zero_stops(console, postpaid_group):
    response = console.post(f"/resource-groups/{postpaid_group.group_id}/scale-down/", {"count": 0})
    assert response.status_code == 302
    postpaid_group.refresh_from_db()
    assert (postpaid_group.status, postpaid_group.machines.count()) == ("Stopped", 0)
    assert console.post(f"/resource-groups/{postpaid_group.group_id}/delete/").status_code == 302
    assert not ResourceGroup.objects.filter(pk=postpaid_group.pk).exists()


def test_direct_connection_dialog(console, postpaid_group):
    url = f"/resource-groups/{postpaid_group.group_id}/direct-connection/"
    bad = console.post(url, {"action": "save", "vswitch_id": "nope", "security_group_id": "sg-8vbhwowdxzx5fjcx"})
    assert bad.status_code == 400 and b"is not an id like" in bad.content
    ok = console.post(url, {"action": "save", "vswitch_id": "vsw-8vbsunr5bkcbyxh94",
                            "security_group_id": "sg-8vbhwowdxzx5fjcx", "destination_cidrs": "10.1.0.0/16"})
    assert ok.status_code == 302
    assert postpaid_group.dlink.destination_cidrs == ["10.1.0.0/16"]
    assert b"overlaps 10.0.0.0/8" in console.get(f"/resource-groups/{postpaid_group.group_id}/").content


def test_tensorflow_json_round_trip():
    raw = tfjson.encode_request({"signature_name": "predict_images", "output_filter": ["scores"], "inputs": [
        {"name": "images", "dtype": "DT_FLOAT", "values": [[0.5, 1.0], [2.0, 3.0]]},
        {"name": "words", "dtype": "DT_STRING", "shape": [1], "values": ["hi"]}]})
    request = tf_predict_pb2.PredictRequest.FromString(raw)
    assert list(request.inputs["images"].array_shape.dim) == [2, 2]
    assert list(request.inputs["images"].float_val) == [0.5, 1.0, 2.0, 3.0]
    assert list(request.inputs["words"].string_val) == [b"hi"] and list(request.output_filter) == ["scores"]
    response = tf_predict_pb2.PredictResponse()
    response.outputs["scores"].dtype = tf_predict_pb2.DT_DOUBLE
    response.outputs["scores"].array_shape.dim.extend([2, 1])
    response.outputs["scores"].double_val.extend([0.25, 0.75])
    decoded = tfjson.decode_response(response.SerializeToString())
    assert decoded == {"outputs": {"scores": {"dtype": "DT_DOUBLE", "shape": [2, 1], "values": [[0.25], [0.75]]}}}
    with pytest.raises(Exception, match="needs 4 values"):
        tfjson.encode_request({"inputs": [{"name": "x", "dtype": "DT_FLOAT", "shape": [2, 2], "values": [1]}]})


def test_monitoring_buckets_windows_on_a_grid(console, service, settings):
    now = timezone.now()
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=2)
    write_window(start, 10.0, [("heart", "", CallCounts(calls=50, s2xx=40, s4xx=10, bytes_in=10240))])
    columns = on_grid(call_series("heart", now - timedelta(minutes=15)), now - timedelta(minutes=15), now, 10.0)
    index = columns["time"].index(start.timestamp())
    assert (columns["qps"][index], columns["2xx_ratio"][index], columns["in_kb_per_second"][index]) == (5.0, 80.0, 1.0)
    assert columns["qps"][index - 1] == 0.0 and columns["2xx_ratio"][index - 1] is None
    data = console.get(SERVICE + "monitoring/data/?range=15m").json()
    assert sum(data["calls"]["qps"]) == pytest.approx(5.0)
    assert set(data["usage"]["memory_mb"]) == {None}, "no instance has reported usage"
    assert MetricPoint.objects.count() == 1


def test_buy_prepaid_group_pays_for_the_period(console, owner):
    # Live-process tests flush the database, default prices included.
    Price.objects.get_or_create(machine_type="ecs.c5.6xlarge", kind=Price.Kind.PREPAID_MONTH,
                                defaults={"unit_price": Decimal("3000")})
    assert b"1 year" in console.get("/resource-groups/buy/prepaid/").content
    response = console.post("/resource-groups/buy/prepaid/", {
        "region": "cn-shanghai", "machine_type": "ecs.c5.6xlarge", "count": 2, "months": 3, "auto_renew": "on"})
    assert response.status_code == 302
    order = Order.objects.get(account=owner)
    group = order.group
    assert (group.charge_type, group.auto_renew, group.renew_months) == ("PrePaid", True, 3)
    assert (order.count, order.months) == (2, 3) and order.amount > 0
    page = console.get(f"/resource-groups/{group.group_id}/?tab=orders").content.decode()
    assert order.order_id in page and str(order.amount) in page


def test_group_dialogs_place_orders_or_say_why_not(console, postpaid_group):
    base = f"/resource-groups/{postpaid_group.group_id}/"
    dialog = console.get(base + "scale/", headers={"HX-Request": "true"})
    assert dialog.status_code == 200 and b"Scale the resource group" in dialog.content
    assert b"<html" not in dialog.content  # a fragment for the page's dialog
    assert console.post(base + "scale/", {"count": 2}).status_code == 302
    assert Order.objects.get(group=postpaid_group).kind == "ScaleUp"
    temporary = console.post(base + "temporary/", {"count": 1})
    assert temporary.status_code == 400 and b"for prepaid resource groups" in temporary.content
    renew = console.post(base + "renew/", {"months": 1})
    assert renew.status_code == 400 and b"Only prepaid resource groups are renewed" in renew.content
    kept = console.post(base + "delete/")
    assert kept.status_code == 400 and b"Stop the resource group" in kept.content
    assert console.post(base + "settings/", {"name": "renamed"}).status_code == 302
    machine = postpaid_group.machines.get()
    assert console.post(f"{base}machines/{machine.instance_id}/release/").status_code == 302
    postpaid_group.refresh_from_db()
    assert (postpaid_group.name, postpaid_group.status, postpaid_group.machines.count()) == ("renamed", "Stopped", 0)
