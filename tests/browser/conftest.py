"""Fixtures of the console tests: tenants, a read-only RAM user, and (in the browser tests) a
live platform with a real Chromium driving it."""
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from playwright.sync_api import sync_playwright

from console.iam import accounts, policies
from console.iam.accounts import create_main_account
from resourcegroups import fleet
from resourcegroups.models import ChargeType, Machine, ResourceGroup
from services import operations
from tests import harness
from tests.iam.conftest import make_ram_user

PASSWORD = "console-pass-123"


@pytest.fixture
def fast_password_hashing(settings):
    """For in-process tests only: a real web process would not accept these hashes."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def owner(db, fast_password_hashing):
    return create_main_account("console-owner", PASSWORD)


@pytest.fixture
def console(owner):
    client = Client()
    client.force_login(get_user_model().objects.get(username="console-owner"))
    return client


@pytest.fixture
def reader(owner):
    """A RAM user with the system read-only policy, signed in."""
    ram_user = make_ram_user(owner, "reader", attach=["AliyunPAIEASReadOnlyAccess"])
    client = Client()
    client.force_login(ram_user.user)
    return client


@pytest.fixture
def postpaid_group(owner):
    group = ResourceGroup.objects.create(account=owner, name="pool", charge_type=ChargeType.POSTPAID,
                                         machine_type="ecs.g6.4xlarge", status=ResourceGroup.Status.READY)
    Machine.objects.create(name="pool-1", ip="10.1.0.1", cpu=16, memory_mb=65536, group=group,
                           charge_type=ChargeType.POSTPAID, assigned_at=timezone.now())
    return group


@pytest.fixture
def service(owner):
    """A PMML service on the public group (nothing reconciles it: these tests run no worker)."""
    return operations.create_service(owner, {
        "name": "heart", "processor": "pmml", "model_path": "http://example.com/heart.pmml",
        "metadata": {"instance": 1, "quota": 1}})


# The live platform of the browser tests --------------------------------------------------------

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
NODE = "browser-node"
VIEWER_PASSWORD = "viewer-pass-123"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass
class LivePlatform:
    base_url: str
    gateway_url: str
    account: object
    owner: str
    password: str


def _gateway(log_dir: Path) -> harness.ManagedProcess:
    port = harness.free_port()
    process = harness.ManagedProcess("gateway", [
        harness.PYTHON, "-m", "uvicorn", "services.gateway.app:application", "--host", "127.0.0.1",
        "--port", str(port), "--no-access-log",
    ], harness.process_env(EAS_METRICS_FLUSH_SECONDS="1"), log_dir).start()
    process.url = f"http://127.0.0.1:{port}"
    process.wait_for_http(f"{process.url}/healthz")
    return process


@pytest.fixture(scope="module")
def live(django_db_setup, django_db_blocker, control_worker, process_log_dir):
    """Gateway, a console web process that knows it, beat and one node agent whose 16-core, 64 GB
    machine is for sale as ecs.g6.4xlarge; a main account and its read-only RAM user "viewer".

    Everything is committed here, outside the tests' transactions, so the platform's processes see
    it; the tests themselves only read the database. It is flushed when the module is done."""
    processes = []
    with django_db_blocker.unblock():
        try:
            account = create_main_account("browser-owner", PASSWORD)
            viewer = accounts.create_ram_user(account, "viewer", password=VIEWER_PASSWORD)
            policies.attach(policies.find_policy(account, "AliyunPAIEASReadOnlyAccess", "System"), viewer)
            gateway = _gateway(process_log_dir)
            processes.append(gateway)
            port = harness.free_port()
            processes.append(harness.web_server(process_log_dir, port, name="browser-web", EAS_GATEWAY_URL=gateway.url,
                                                EAS_METRICS_FLUSH_SECONDS="1"))
            processes.append(harness.beat(process_log_dir))
            agent = harness.node_agent(process_log_dir, NODE, 16, 65536)
            processes.append(agent)
            harness.wait_until(lambda: Machine.objects.filter(name=NODE).exists(), 60,
                               lambda: f"agent did not join:\n{agent.output()[-3000:]}")
            fleet.assign_machine(NODE, fleet.FREE)
            yield LivePlatform(f"http://127.0.0.1:{port}", gateway.url, account, "browser-owner", PASSWORD)
        finally:
            for process in reversed(processes):
                process.stop()
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(scope="module")
def chromium(live):
    """Debian's Chromium. Playwright's sync API keeps an event loop in this thread, which Django
    takes for async code; the tests' ORM calls are plain blocking calls all the same."""
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def sign_in(browser, live: LivePlatform, username: str, password: str):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=live.base_url)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.base_url}/")
    return page


@pytest.fixture(scope="module")
def page(chromium, live):
    """The main account's signed-in tab; confirmation prompts are accepted."""
    page = sign_in(chromium, live, live.owner, live.password)
    page.on("dialog", lambda dialog: dialog.accept())
    yield page
    page.context.close()


def screenshot(page, name: str, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=full_page)
