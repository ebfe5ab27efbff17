"""The platform's plumbing is real: broker, worker process, channel layer and websockets."""
import asyncio
import json

import pytest
import websockets
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection

from console.iam.accounts import create_main_account
from resourcegroups.models import Machine
from resourcegroups.tasks import register_machine
from services import events
from services.models import Service
from services.tasks import report_event

pytestmark = pytest.mark.django_db(transaction=True)


def test_task_runs_in_a_separate_worker_process(control_worker, settings):
    result = register_machine.apply_async(kwargs={
        "join_token": settings.EAS_JOIN_TOKEN, "name": "plumbing-node", "ip": "127.0.0.1",
        "cpu": 4, "memory_mb": 8192,
    }, queue="control")

    assert result.get(timeout=30) == {"name": "plumbing-node", "status": "Ready"}
    # The row was written by the worker process through its own database connection.
    machine = Machine.objects.get(name="plumbing-node")
    assert (machine.cpu, machine.memory_mb) == (4, 8192)
    assert "resourcegroups.register_machine" in control_worker.output()


def test_worker_refuses_a_wrong_join_token(control_worker):
    result = register_machine.apply_async(kwargs={
        "join_token": "not-the-token", "name": "intruder", "ip": "127.0.0.1", "cpu": 1, "memory_mb": 1,
    }, queue="control")

    with pytest.raises(Exception, match="wrong join token"):
        result.get(timeout=30)
    assert not Machine.objects.filter(name="intruder").exists()


def session_cookie_for(user) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.save()
    return f"sessionid={session.session_key}"


async def read_events(url: str, cookie: str, send_after_history, count: int) -> list[dict]:
    async with websockets.connect(url, additional_headers={"Cookie": cookie},
                                  origin="http://127.0.0.1") as ws:
        history = json.loads(await asyncio.wait_for(ws.recv(), 10))
        await asyncio.to_thread(send_after_history)
        received = [history]
        while len(received) < count:
            received.append(json.loads(await asyncio.wait_for(ws.recv(), 15)))
        return received


def test_event_from_worker_reaches_websocket_client_of_web_process(control_worker, web_server):
    account = create_main_account("alice", "secret-pass-1")
    service = Service.objects.create(account=account, region="cn-shanghai", name="demo")
    events.record_event(service, "Service [demo] is being created")
    url = web_server.base_url.replace("http", "ws") + "/ws/services/cn-shanghai/demo/events"

    def from_worker():
        report_event.apply_async(args=[service.pk, "Waiting [Total: 1, Pending: 1, Running: 0]"],
                                 queue="control")

    lines = asyncio.run(read_events(url, session_cookie_for(account.owner), from_worker, 2))

    assert [e["line"] for e in lines] == [
        "[OK] Service [demo] is being created",
        "[OK] Waiting [Total: 1, Pending: 1, Running: 0]",
    ]
    assert service.events.count() == 2


def test_websocket_of_another_tenant_is_refused_like_a_missing_service(web_server):
    owner = create_main_account("bob", "secret-pass-2")
    Service.objects.create(account=owner, region="cn-shanghai", name="private")
    stranger = create_main_account("mallory", "secret-pass-3")
    url = web_server.base_url.replace("http", "ws") + "/ws/services/cn-shanghai/private/events"

    async def connect(cookie, url):
        async with websockets.connect(url, additional_headers={"Cookie": cookie},
                                      origin="http://127.0.0.1") as ws:
            await asyncio.wait_for(ws.recv(), 10)

    codes = []
    for cookie, path in [(session_cookie_for(stranger.owner), url),
                         (session_cookie_for(owner.owner), url.replace("private", "missing"))]:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            asyncio.run(connect(cookie, path))
        codes.append(closed.value.rcvd.code)
    assert codes == [4404, 4404]


def test_migrations_are_complete_and_applied(settings):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
    call_command("migrate", "--check")  # exits non-zero if anything is unapplied
    if "postgres" in settings.DATABASES["default"]["ENGINE"]:
        assert connection.vendor == "postgresql"
    assert get_user_model().objects.count() == 0
