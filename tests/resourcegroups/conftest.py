import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from console.celery import app as celery_app
from console.iam import accounts, policies
from resourcegroups import catalog, clock
from resourcegroups.models import Machine, Price

PASSWORD = "correct horse battery"
PREPAID_TYPE = "ecs.c5.6xlarge"        # 24 cores + 48 GB, prepaid only
POSTPAID_TYPE = "ecs.g6.4xlarge"       # 16 cores + 64 GB, postpaid only
GPU_TYPE = "ecs.gn6i-c8g1.2xlarge"     # 8 cores + 31 GB + 1 T4, both
MONTH_PRICE = {PREPAID_TYPE: Decimal("2600"), POSTPAID_TYPE: Decimal("2400"), GPU_TYPE: Decimal("5600")}
HOUR_PRICE = {PREPAID_TYPE: Decimal("5.40"), POSTPAID_TYPE: Decimal("4.90"), GPU_TYPE: Decimal("11.60")}
QUOTA_HOUR_PRICE = Decimal("0.27")
_names = itertools.count(1)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def prices(db):
    """Known unit prices (tests that flush the database lose the data migration's defaults)."""
    for machine_type in MONTH_PRICE:
        Price.objects.update_or_create(machine_type=machine_type, kind=Price.Kind.PREPAID_MONTH,
                                       defaults={"unit_price": MONTH_PRICE[machine_type]})
        Price.objects.update_or_create(machine_type=machine_type, kind=Price.Kind.POSTPAID_HOUR,
                                       defaults={"unit_price": HOUR_PRICE[machine_type]})
    Price.objects.update_or_create(machine_type="", kind=Price.Kind.QUOTA_HOUR,
                                   defaults={"unit_price": QUOTA_HOUR_PRICE})


@pytest.fixture
def tenant(db):
    return accounts.create_main_account("alice", PASSWORD)


@pytest.fixture
def other_tenant(db):
    return accounts.create_main_account("bob", PASSWORD)


@pytest.fixture
def api(tenant, prices):
    """The main account's API client."""
    client = APIClient()
    client.force_authenticate(user=tenant.owner)
    return client


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def make_ram_user(account, name: str, actions=(), *, finance: bool = False, resource: str = "*"):
    """A RAM user allowed `actions` on `resource`, optionally with the finance system policy."""
    ram_user = accounts.create_ram_user(account, name)
    if actions:
        document = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}]}
        policies.attach(policies.create_policy(account, f"{name}-policy", document), ram_user)
    if finance:
        policies.ensure_system_policies()
        policies.attach(policies.find_policy(account, policies.FINANCE_POLICY, "System"), ram_user)
    return ram_user


def add_machine(machine_type: str | None = None, *, name: str | None = None, status=Machine.Status.READY,
                region: str = "cn-shanghai", **spec) -> Machine:
    """A free machine of the inventory with the spec of `machine_type` (as its agent would report it)."""
    if machine_type:
        t = catalog.machine_type(machine_type)
        spec = {"cpu": t["cpu"], "memory_mb": t["memory_gb"] * 1024, "gpu": t["gpu"],
                "gpu_type": f"NVIDIA {t['gpu_model']}" if t["gpu"] else "", **spec}
    return Machine.objects.create(name=name or f"node-{next(_names)}", ip="10.1.0.1", status=status,
                                  last_heartbeat=timezone.now(), region=region, **spec)


@pytest.fixture
def eager_tasks():
    """Celery tasks run inline (the order processing a real worker does in integration tests)."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_eager_propagates = False


@pytest.fixture
def run_tasks(eager_tasks, django_capture_on_commit_callbacks):
    """Call `run_tasks(fn, ...)`: the tasks `fn` queues on commit run before it returns."""
    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)
    return run


class Clock:
    """The lifecycle's clock, moved by the test."""

    def __init__(self):
        self.now = timezone.now()

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)
        return self.now

    def set(self, moment):
        self.now = moment
        return moment


@pytest.fixture
def fake_clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(clock, "now", fake)
    return fake
