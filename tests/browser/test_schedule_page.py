"""The service page's scheduled-redeploy tab (S12): set, show, refuse bad input, remove, and
nothing for a read-only user."""
from services.models import RedeploySchedule

SCHEDULE = "/services/cn-shanghai/heart/schedule/"
FORM = {"cron": "0 2 * * *", "model_path": "http://example.com/models/lr.pmml", "check_body": '[{"x": 1}]',
        "expect_status": 200, "expect_contains": "predicted", "enabled": "on"}


def test_owner_sets_shows_and_removes_a_schedule(console, service):
    response = console.post(SCHEDULE, FORM)
    assert response.status_code in (200, 302), response.content
    schedule = RedeploySchedule.objects.get(service=service)
    assert (schedule.cron, schedule.expect_contains, schedule.enabled) == ("0 2 * * *", "predicted", True)
    assert schedule.next_run.hour == 2 and schedule.next_run.minute == 0

    page = console.get("/services/cn-shanghai/heart/?tab=schedule").content.decode()
    assert "<code>0 2 * * *</code>" in page and "not yet" in page

    response = console.post(SCHEDULE, {**FORM, "cron": "at night"})
    assert response.status_code == 400
    assert "five-field cron" in response.content.decode()
    assert RedeploySchedule.objects.get(service=service).cron == "0 2 * * *"

    console.post(SCHEDULE, {"delete": "1"})
    assert not RedeploySchedule.objects.filter(service=service).exists()


def test_read_only_user_cannot_schedule(reader, service):
    page = reader.get("/services/cn-shanghai/heart/?tab=schedule").content.decode()
    assert "No scheduled redeploy yet." in page
    assert 'disabled>Save schedule</button>' in page
    response = reader.post(SCHEDULE, FORM)
    assert response.status_code == 403
    assert not RedeploySchedule.objects.exists()
