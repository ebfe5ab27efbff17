"""Scheduled redeploys (SPEC S12): the seeds' DataWorks recipe as a product feature.

On each cron tick a new version is added from the schedule's model path (always a new version:
the files behind the path may have changed), rolled out like any update, and once it runs a
check request is sent to one of its instances. A version that fails the check, or never comes
up, is rolled back to the version that served before.
"""
import logging
from datetime import datetime, timedelta

import httpx
from croniter import CroniterBadCronError, croniter
from django.db import transaction
from django.utils import timezone

from console.celery import app as celery_app
from console.iam.errors import InvalidParameter
from services import events, operations
from services.models import Instance, RedeploySchedule, Service

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 30
ROLLOUT_DEADLINE = timedelta(minutes=15)


def next_run_after(cron: str, moment: datetime) -> datetime:
    return croniter(cron, moment).get_next(datetime)


def set_schedule(service: Service, *, cron: str, model_path: str, check_body: str = "",
                 expect_status: int = 200, expect_contains: str = "", enabled: bool = True) -> RedeploySchedule:
    if not croniter.is_valid(cron) or len(cron.split()) != 5:
        raise InvalidParameter(f"Cron: {cron!r} is not a five-field cron expression (minute hour day month weekday).")
    operations.parse_description(operations.spec.merge(service.description, {"model_path": model_path}))
    if not 100 <= expect_status <= 599:
        raise InvalidParameter("ExpectStatus must be an HTTP status code.")
    schedule, _ = RedeploySchedule.objects.update_or_create(service=service, defaults={
        "cron": cron, "model_path": model_path, "check_body": check_body, "expect_status": expect_status,
        "expect_contains": expect_contains, "enabled": enabled,
        "next_run": next_run_after(cron, timezone.now()),
    })
    events.record_event(service, f"Scheduled redeploy set: [{cron}] from [{model_path}]")
    return schedule


def run_due(now: datetime | None = None) -> list[int]:
    """Start the redeploys whose time has come; returns their schedule ids."""
    now = now or timezone.now()
    started = []
    for schedule in RedeploySchedule.objects.filter(enabled=True, next_run__lte=now).select_related("service"):
        try:
            version = operations.add_version(schedule.service, {"model_path": schedule.model_path},
                                             "Scheduled redeploy")
        except (InvalidParameter, CroniterBadCronError) as error:
            schedule.last_result = f"not started: {error}"
            version = None
        schedule.last_run = now
        schedule.last_version = version
        schedule.next_run = next_run_after(schedule.cron, now)
        if version is not None:
            schedule.last_result = f"version {version} rolling out"
            transaction.on_commit(lambda s=schedule.pk, v=version: celery_app.send_task(
                "services.check_redeploy", args=[s, v, (now + ROLLOUT_DEADLINE).isoformat()], countdown=2))
        schedule.save()
        started.append(schedule.pk)
    return started


def check(schedule_id: int, version: int, deadline: datetime) -> str:
    """'pending' while the version rolls out; else 'passed' or 'rolled back' (and why)."""
    schedule = RedeploySchedule.objects.select_related("service").filter(pk=schedule_id).first()
    if schedule is None:
        return "gone"
    service = schedule.service
    if service.current_version != version:
        return _finish(schedule, f"version {version} was rolled back by the deployment engine")
    instance = service.instances.filter(version=version, status=Instance.Status.RUNNING).first()
    if instance is None or service.status != Service.Status.RUNNING:
        if timezone.now() < deadline:
            return "pending"
        return _roll_back(schedule, version, "the new version did not come up in time")
    try:
        response = httpx.post(f"http://{instance.host}:{instance.port}/", content=schedule.check_body.encode(),
                              headers={"Authorization": service.token}, timeout=CHECK_TIMEOUT_SECONDS)
    except httpx.HTTPError as error:
        return _roll_back(schedule, version, f"check request failed: {error}")
    if response.status_code != schedule.expect_status:
        return _roll_back(schedule, version, f"check answered {response.status_code}, "
                                             f"expected {schedule.expect_status}: {response.text[:200]}")
    if schedule.expect_contains and schedule.expect_contains not in response.text:
        return _roll_back(schedule, version, f"check answer lacks {schedule.expect_contains!r}: "
                                             f"{response.text[:200]}")
    events.record_event(service, f"Scheduled redeploy of version {version} passed its check")
    return _finish(schedule, f"version {version} passed its check")


def _roll_back(schedule: RedeploySchedule, version: int, reason: str) -> str:
    service = schedule.service
    previous = service.previous_version
    if previous:
        operations.switch_version(service, previous)
    events.record_event(service, f"Scheduled redeploy of version {version} failed: {reason}; "
                                 f"rolled back to version {previous}", level="FAILED")
    return _finish(schedule, f"rolled back: {reason}")


def _finish(schedule: RedeploySchedule, result: str) -> str:
    schedule.last_result = result
    schedule.save(update_fields=["last_result"])
    return result
