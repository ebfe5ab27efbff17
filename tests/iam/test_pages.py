"""RAM console pages: main account only, secrets shown once, policy editor validation, audit."""
import re

import pytest

from console.iam.models import AccessKey, AuditEntry, RamUser
from tests.iam.conftest import make_ram_user


@pytest.fixture
def console(client, tenant):
    client.force_login(tenant.owner)
    return client


PAGES = ["/iam/users/", "/iam/accesskeys/", "/iam/policies/", "/iam/policies/new/", "/iam/audit/"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_for_the_main_account(console, path):
    response = console.get(path)
    assert response.status_code == 200
    assert b"RAM users" in response.content


@pytest.mark.parametrize("path", PAGES)
def test_ram_users_cannot_open_ram_pages(client, tenant, path):
    client.force_login(make_ram_user(tenant, statements=[{"Effect": "Allow", "Action": "*", "Resource": "*"}]).user)
    response = client.get(path)
    assert response.status_code == 403
    assert b"only the main account" in response.content


def test_anonymous_is_sent_to_login(client):
    response = client.get("/iam/users/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_create_user_and_key_on_pages(console, tenant):
    response = console.post("/iam/users/", {"user_name": "dev", "display_name": "Dev", "password": ""})
    assert response.status_code == 302 and response["Location"] == "/iam/users/dev/"
    assert console.post("/iam/users/", {"user_name": "dev"}).status_code == 400

    response = console.post("/iam/users/dev/", {"action": "create_key"})
    assert response.status_code == 200
    secret = re.search(rb'data-testid="new-access-key-secret">([^<]+)<', response.content).group(1).decode()
    key = AccessKey.objects.get(user__ram_user__name="dev")
    assert len(secret) == 30 and key.access_key_id.encode() in response.content
    page = console.get("/iam/users/dev/")
    assert key.access_key_id.encode() in page.content and secret.encode() not in page.content

    console.post("/iam/users/dev/", {"action": "disable_key", "access_key_id": key.access_key_id})
    key.refresh_from_db()
    assert not key.is_active
    console.post("/iam/users/dev/", {"action": "delete_key", "access_key_id": key.access_key_id})
    assert not AccessKey.objects.filter(pk=key.pk).exists()

    console.post("/iam/users/dev/", {"action": "attach", "policy": "System:AliyunPAIEASReadOnlyAccess"})
    assert RamUser.objects.get(name="dev").attachments.get().policy.name == "AliyunPAIEASReadOnlyAccess"
    console.post("/iam/users/dev/", {"action": "delete"})
    assert not RamUser.objects.filter(name="dev").exists()

    operations = list(AuditEntry.objects.filter(account=tenant).values_list("operation", "result"))
    assert ("CreateUser", "Success") in operations and ("CreateUser", "EntityAlreadyExists.User") in operations
    assert ("CreateAccessKey", "Success") in operations and ("DeleteUser", "Success") in operations
    assert console.get("/iam/audit/").content.count(b"CreateUser") == 2


def test_other_tenants_user_page_is_not_found(console, other_tenant):
    make_ram_user(other_tenant, "theirs")
    assert console.get("/iam/users/theirs/").status_code == 404
    assert console.post("/iam/users/theirs/", {"action": "delete"}).status_code == 404
    assert RamUser.objects.filter(name="theirs").exists()


def test_main_account_keys_page(console, tenant):
    response = console.post("/iam/accesskeys/", {"action": "create_key"})
    assert b"shown only this once" in response.content
    assert AccessKey.objects.filter(user=tenant.owner).count() == 1


def test_policy_editor_lists_every_problem(console, tenant):
    response = console.post("/iam/policies/new/", {"name": "Broken", "document": '{"Version": "1", "Statement": ['})
    assert response.status_code == 400 and b"not valid JSON" in response.content
    document = '{"Version": "1", "Statement": [{"Effect": "Maybe", "Action": "eas:Fly", "Resource": "x"}]}'
    response = console.post("/iam/policies/new/", {"name": "Broken", "document": document})
    assert response.status_code == 400
    assert b"3 problems" in response.content and b"eas:Fly" in response.content
    document = '{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "eas:*", "Resource": "*"}]}'
    response = console.post("/iam/policies/new/", {"name": "AllEas", "document": document})
    assert response.status_code == 302
    edited = document.replace("Allow", "Deny")
    assert console.post("/iam/policies/AllEas/", {"description": "d", "document": edited}).status_code == 302
    assert tenant.policies.get(name="AllEas").document["Statement"][0]["Effect"] == "Deny"
    assert console.post("/iam/policies/AllEas/", {"action": "delete"}).status_code == 302
    system = console.get("/iam/policies/AliyunFinanceConsoleFullAccess/")
    assert system.status_code == 200 and b"bss:*" in system.content


def test_unknown_page_action_is_a_bad_request(console, tenant):
    make_ram_user(tenant)
    assert console.post("/iam/accesskeys/", {"action": "explode"}).status_code == 400
    assert console.post("/iam/users/dev/", {"action": "explode"}).status_code == 400
