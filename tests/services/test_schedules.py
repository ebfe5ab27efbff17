"""Scheduled redeploys (S12): a new version per tick, checked, rolled back when the check fails."""
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from services import schedules
from services.models import RedeploySchedule
from tests import harness
from tests.services.conftest import create_service, describe, events, wait_for_status
from tests.services.test_engine import answers, echo_description

pytestmark = pytest.mark.django_db(transaction=True)


def upload_tag(client, tag: str) -> str:
    """Put a model (a tag file) at a fixed path of the tenant's repository; returns its oss:// URI."""
    response = client.put("/api/v2/storage/objects/nightly/tag.txt", data=tag.encode(),
                          content_type="application/octet-stream")
    assert response.status_code == 200, response.content
    return response.json()["Uri"]


def put_schedule(client, name, **body):
    return client.put(f"/api/v2/services/cn-shanghai/{name}/schedule", data=json.dumps(body),
                      content_type="application/json")


def test_schedule_is_validated(tenant, dedicated_group, echo_processor):
    create_service(tenant, echo_description(echo_processor, dedicated_group, name="nightly"))
    response = put_schedule(tenant, "nightly", Cron="every night", ModelPath="/models/x")
    assert response.status_code == 400
    assert "five-field cron" in response.json()["Message"]
    assert put_schedule(tenant, "nightly", Cron="0 2 * * *").status_code == 400
    assert tenant.get("/api/v2/services/cn-shanghai/nightly/schedule").status_code == 404


def test_redeploy_passes_its_check_then_a_bad_one_is_rolled_back(tenant, dedicated_group, start_agent,
                                                                  echo_processor):
    start_agent("node-a")
    create_service(tenant, echo_description(echo_processor, dedicated_group, name="nightly"))
    wait_for_status(tenant, "nightly", "Running", running=1)
    model_uri = upload_tag(tenant, "fresh")
    assert model_uri.startswith("oss://eas-model-")
    response = put_schedule(tenant, "nightly", Cron="0 2 * * *", ModelPath=model_uri,
                            CheckRequest="ping", ExpectStatus=200, ExpectContains="fresh:ping")
    assert response.status_code == 200, response.content
    assert response.json()["NextRunTime"].endswith("T02:00:00Z")

    # The 02:00 tick: a new version from the model path, checked once it runs.
    RedeploySchedule.objects.update(next_run=timezone.now() - timedelta(seconds=1))
    assert len(schedules.run_due()) == 1
    harness.wait_until(lambda: answers(tenant, "nightly") == ["fresh:hello"], 90,
                       lambda: f"v2 not serving: {answers(tenant, 'nightly')}")
    harness.wait_until(lambda: "passed" in RedeploySchedule.objects.get().last_result, 60,
                       lambda: RedeploySchedule.objects.get().last_result)
    assert describe(tenant, "nightly")["CurrentVersion"] == 2

    # The next night the file behind the path is bad: the check fails, and v2 comes back with
    # the content it first ran, not what the path holds now.
    upload_tag(tenant, "stale")
    RedeploySchedule.objects.update(next_run=timezone.now() - timedelta(seconds=1))
    schedules.run_due()
    harness.wait_until(lambda: "rolled back" in RedeploySchedule.objects.get().last_result, 90,
                       lambda: RedeploySchedule.objects.get().last_result)
    harness.wait_until(lambda: answers(tenant, "nightly") == ["fresh:hello"], 90,
                       lambda: f"not rolled back: {answers(tenant, 'nightly')}")
    service = describe(tenant, "nightly")
    assert (service["CurrentVersion"], service["LatestVersion"]) == (2, 3)
    assert any("failed: check answer lacks 'fresh:ping'" in line for line in events(tenant, "nightly"))
