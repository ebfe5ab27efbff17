"""Fixtures of the console tests: tenants, a read-only RAM user, and (in the browser tests) a
live platform with a real Chromium driving it."""
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from console.iam.accounts import create_main_account
from resourcegroups.models import ChargeType, Machine, ResourceGroup
from services import operations
from tests.iam.conftest import make_ram_user

PASSWORD = "console-pass-123"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def owner(db):
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
