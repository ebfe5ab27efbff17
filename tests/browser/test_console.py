"""The console in a real Chromium against a live platform: buy a group, deploy a TensorFlow model
uploaded from disk, watch it come up, debug it online, split traffic, scale, read its charts,
stop and delete it, and check that a read-only RAM user can change nothing.

The tests run in order and share one platform (see conftest.live); screenshots of the main
pages go to docs/screenshots/.
"""
import json
import re
import tarfile
import time

import httpx
import numpy as np
import pytest
from playwright.sync_api import expect

from frontend import tfjson
from resourcegroups.models import ResourceGroup
from services.models import Instance, Service
from tests import harness
from tests.browser.conftest import NODE, VIEWER_PASSWORD, screenshot, sign_in

# Each test reads the database in a transaction of its own; the platform's processes do the writes.
pytestmark = [pytest.mark.django_db, pytest.mark.timeout(300)]

NAME = "mnist_browser"
IMAGES = [[(i % 10) / 10 for i in range(784)]]
state = {}


@pytest.fixture(scope="module")
def tf_model(tmp_path_factory):
    """The seeds' MNIST-shaped Keras model as a SavedModel and as the archive a user uploads."""
    from tests.runtime.models import build_keras_mlp

    folder = tmp_path_factory.mktemp("tf-model")
    saved_model = build_keras_mlp(folder)
    archive = folder / "mnist_saved_model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(saved_model, arcname="mnist_saved_model")
    return saved_model, archive


def service_row(page, name: str):
    return page.locator(f"tr[data-service='{name}']")


def reload_until(page, check, timeout: float, message: str) -> None:
    """Reload the page until `check()` holds (pages that do not refresh themselves)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, message
        time.sleep(1)
        page.reload()


def test_sign_in_and_empty_overview(chromium, live):
    page = chromium.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{live.base_url}/login/")
    page.fill("#id_username", live.owner)
    page.fill("#id_password", "wrong password")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text("Wrong user name or password")
    screenshot(page, "login")
    page.close()

    page = sign_in(chromium, live, live.owner, live.password)
    expect(page.get_by_test_id("groups-total")).to_have_text("0")
    expect(page.get_by_text("No services yet")).to_be_visible()
    page.context.close()


def test_buy_a_postpaid_group(page, live):
    page.goto("/")
    page.get_by_text("New resource group").first.click()
    page.get_by_role("menuitem", name=re.compile("postpaid")).click()
    page.select_option("#id_machine_type", "ecs.g6.4xlarge")
    page.fill("#id_count", "1")
    page.fill("#id_name", "browser-pool")
    offer = page.get_by_test_id("machine-types").locator("tr", has_text="ecs.g6.4xlarge")
    expect(offer.locator("td").nth(1)).to_have_text("1")  # the agent's machine is for sale
    screenshot(page, "resource-group-buy")
    page.get_by_role("button", name="Buy now").click()
    expect(page.locator(".alert-success")).to_contain_text("Order")

    group = ResourceGroup.objects.get(name="browser-pool")
    state["group"] = group.group_id
    reload_until(page, lambda: page.get_by_test_id("group-status").inner_text().startswith("Ready"), 60,
                 "the purchase never completed")
    expect(page.get_by_test_id("machines")).to_contain_text(NODE)
    screenshot(page, "resource-group")


def test_deploy_an_uploaded_tensorflow_model(page, live, tf_model):
    _, archive = tf_model
    page.goto("/deploy/")
    page.select_option("#id_resource_group", state["group"])
    page.select_option("#id_processor", "tensorflow_cpu_1.15")
    source = page.locator("[data-model-source][data-field=model_path]")
    source.locator("input[type=file]").set_input_files(archive)
    expect(source.locator("[data-upload-status]")).to_have_attribute("data-done", "true", timeout=60_000)
    expect(source.locator(".progress > div")).to_have_attribute("style", re.compile("100%"))
    model_path = page.input_value("#id_model_path")
    assert re.match(rf"oss://eas-model-shanghai/{live.account.uid}/uploads/\d+T\d+/mnist_saved_model.tar.gz$",
                    model_path), model_path
    screenshot(page, "deploy-wizard-model")

    page.get_by_role("button", name="Next").click()
    summary = page.get_by_test_id("deploy-summary")
    expect(summary).to_contain_text("browser-pool")
    expect(summary).to_contain_text(model_path)
    page.fill("#id_name", NAME)
    page.fill("#id_instances", "1")
    page.fill("#id_cpu", "1")
    page.fill("#id_memory", "2000")
    screenshot(page, "deploy-wizard-details")
    page.get_by_role("button", name="Deploy").click()
    page.wait_for_url(f"**/services/cn-shanghai/{NAME}/")

    events = page.get_by_test_id("events")
    expect(events).to_contain_text("is being created")
    expect(events).to_contain_text("Service is running", timeout=180_000)
    expect(page.get_by_test_id("service-status")).to_have_text("Running")  # follows the events
    expect(page.locator("#events-live")).to_have_text("live")
    screenshot(page, "service-events")


def test_online_debug_sends_tensorflow_inputs(page, tf_model):
    import tensorflow as tf

    saved_model, _ = tf_model
    page.goto(f"/services/cn-shanghai/{NAME}/debug/")
    expect(page.locator("#tf-structure-status")).to_have_attribute("data-loaded", "true")
    expect(page.locator("#tf-signature")).to_have_value("predict_images")
    page.get_by_label("Values of images").fill(json.dumps(IMAGES))
    with page.expect_response(re.compile(r"/debug/send/$")) as sent:
        page.get_by_role("button", name="Send request").click()
    result = sent.value.json()
    assert result["response"]["status"] == 200, result
    scores = result["response"]["decoded"]["outputs"]["scores"]
    expected = tf.saved_model.load(str(saved_model)).signatures["predict_images"](
        images=tf.constant(np.array(IMAGES, dtype=np.float32)))["scores"].numpy()
    assert scores["shape"] == [1, 10]
    np.testing.assert_allclose(scores["values"], expected, rtol=1e-5, atol=1e-6)
    expect(page.get_by_test_id("debug-response")).to_contain_text("200 OK")
    expect(page.get_by_test_id("debug-request")).to_contain_text("POST http://127.0.0.1")
    screenshot(page, "online-debug-tensorflow")


def test_call_info_masks_the_token(page):
    token = Service.objects.get(name=NAME).token
    page.goto("/")
    service_row(page, NAME).get_by_role("button", name="Call info").click()
    field = page.locator("#service-token")
    expect(field).to_have_value(re.compile("•"))
    expect(page.locator("#endpoint-public")).to_have_value(re.compile(rf"/api/predict/{NAME}$"))
    screenshot(page, "call-info")
    page.locator("#modal").get_by_role("button", name="Show").click()
    expect(field).to_have_value(token)
    page.get_by_role("button", name="Done").click()


def test_blue_green_deployment_and_traffic_switch(page):
    page.goto(f"/deploy/?origin={NAME}&group={state['group']}")
    page.select_option("#id_processor", "tensorflow_cpu_1.15")
    page.get_by_label("Object store").check()
    page.get_by_role("button", name="Browse the object store").click()
    page.locator("[data-picker] a", has_text="uploads/").click()
    page.locator("[data-picker] a[data-prefix]", has_text=re.compile(r"uploads/\d+T")).click()
    page.locator("[data-picker] a[data-uri]", has_text="mnist_saved_model.tar.gz").click()
    expect(page.locator("#id_model_path")).to_have_value(re.compile(r"mnist_saved_model\.tar\.gz$"))
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Blue-green deployment").check()
    expect(page.locator("#id_origin")).to_have_value(NAME)
    page.fill("#id_cpu", "1")
    page.fill("#id_memory", "2000")
    page.get_by_role("button", name="Deploy").click()
    page.wait_for_url(re.compile(rf"/services/cn-shanghai/{NAME}_[0-9a-f]{{8}}/$"))
    associated = Service.objects.get(origin_name=NAME)
    state["associated"] = associated.name

    page.goto("/")
    service_row(page, associated.name).get_by_role("button", name="Switch traffic").click()
    page.get_by_test_id("traffic-current").fill("20")
    expect(page.get_by_test_id("traffic-associated")).to_have_value("80")
    screenshot(page, "switch-traffic")
    page.locator("#modal").get_by_role("button", name="Switch traffic").click()
    expect(page.locator(".alert-success")).to_contain_text("gets 80%")
    associated.refresh_from_db()
    assert (associated.released, associated.traffic_weight) == (True, 80)


def test_scale_and_read_instance_logs(page):
    page.goto("/")
    service_row(page, NAME).get_by_role("button", name="Scale").click()
    page.locator("#modal #id_instances").fill("2")
    page.locator("#modal").get_by_role("button", name="Scale").click()
    expect(page.locator(".alert-success")).to_contain_text("Scaling")
    assert Service.objects.get(name=NAME).desired_instances == 2

    page.goto(f"/services/cn-shanghai/{NAME}/?tab=instances")
    instances = page.get_by_test_id("instances")
    expect(instances.locator("tbody tr")).to_have_count(2)
    expect(instances.get_by_text("Running", exact=True)).to_have_count(2, timeout=120_000)
    instances.get_by_role("button", name="View logs").first.click()
    expect(page.get_by_test_id("logs")).not_to_have_text(re.compile(r"^(Loading…)?$"), timeout=20_000)
    screenshot(page, "service-instances-logs", full_page=True)


def test_monitoring_charts_fill_after_calls(page, live):
    service = Service.objects.get(name=NAME)
    body = tfjson.encode_request({"inputs": [{"name": "images", "dtype": "DT_FLOAT", "values": IMAGES}]})
    with httpx.Client(timeout=30) as client:
        for _ in range(40):  # spread over a few seconds, so that the charts show a curve
            response = client.post(f"{live.gateway_url}/api/predict/{NAME}", content=body,
                                   headers={"Authorization": service.token})
            assert response.status_code == 200, response.text
            time.sleep(0.2)
    time.sleep(2)  # the gateway stores a window every second
    page.goto(f"/services/cn-shanghai/{NAME}/monitoring/?range=15m")
    for chart in ("qps", "codes", "ratios", "latency", "traffic"):
        expect(page.locator(f"[data-chart={chart}]")).to_have_attribute("data-has-data", "true")
    for chart in ("cpu", "memory"):  # sampled from the instances' processes by the agent
        expect(page.locator(f"[data-chart={chart}]")).to_have_attribute("data-has-data", "true")
    screenshot(page, "monitoring", full_page=True)
    screenshot_overview(page)


def screenshot_overview(page):
    page.goto("/")
    expect(service_row(page, NAME)).to_contain_text("Running")
    screenshot(page, "overview", full_page=True)


def test_read_only_ram_user_changes_nothing(chromium, live, page):
    page.goto("/iam/users/")
    expect(page.get_by_role("link", name=re.compile("viewer@"))).to_be_visible()
    screenshot(page, "ram-users")

    reader = sign_in(chromium, live, f"viewer@{live.account.name}", VIEWER_PASSWORD)
    row = service_row(reader, NAME)
    expect(row).to_contain_text("Running")
    for action in ("Stop", "Delete", "Scale", "Add version"):
        expect(row.get_by_role("button", name=action, exact=True)).to_be_disabled()
    expect(row.get_by_role("combobox")).to_be_disabled()
    expect(row.get_by_role("link", name="Online debug")).to_be_visible()
    expect(reader.get_by_role("link", name="Deploy model")).to_have_count(0)
    expect(reader.get_by_text("New resource group")).to_have_count(0)
    screenshot(reader, "overview-read-only", full_page=True)

    csrf = json.loads(reader.locator("body").get_attribute("hx-headers"))["X-CSRFToken"]
    for path in (f"/services/cn-shanghai/{NAME}/stop/", f"/services/cn-shanghai/{NAME}/scale/",
                 f"/resource-groups/{state['group']}/scale-down/"):
        forged = reader.request.post(path, headers={"X-CSRFToken": csrf, "Referer": live.base_url + "/"},
                                     form={"instances": "0", "count": "0"})
        assert forged.status == 403 and "not authorized" in forged.text(), (path, forged.status, forged.text()[:300])
    service = Service.objects.get(name=NAME)
    assert service.running and service.desired_instances == 2
    reader.context.close()


def test_stop_then_delete(page):
    page.goto("/")
    service_row(page, NAME).get_by_role("button", name="Stop", exact=True).click()
    expect(page.locator(".alert-success")).to_contain_text("is stopping")
    harness.wait_until(lambda: Service.objects.get(name=NAME).status == Service.Status.STOPPED, 60,
                       "the service never stopped")
    assert not Instance.objects.filter(service__name=NAME, status__in=Instance.LIVE).exists()
    page.goto("/")
    expect(service_row(page, NAME)).to_contain_text("Stopped")

    for name in (state["associated"], NAME):
        service_row(page, name).get_by_role("button", name="Delete").click()
        page.locator("#confirm-name").fill(name)
        page.locator("#modal").get_by_role("button", name="Delete").click()
        expect(page.locator(".alert-success")).to_contain_text(f"{name} was deleted")
    expect(page.get_by_text("No services yet")).to_be_visible()
    assert not Service.objects.filter(name__startswith=NAME).exists()
