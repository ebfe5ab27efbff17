"""The RAM API through HTTP: users, AccessKeys, policies, attachments, audit log, tenancy."""
import json
import logging

import pytest
from rest_framework.test import APIClient

from console.iam import accesskeys
from console.iam.models import AccessKey, AuditEntry
from tests.iam.conftest import PASSWORD, SignedClient, make_ram_user

SEED_POLICY = """{ "Statement":[{ "Effect": "Allow", "Action":["eas:ReadInstance", "eas:ListInstance",
"eas:EditInstance", "eas:OperateInstance", "eas:ListResourceGroup", "eas:ReadResourceGroup",
"eas:OperateResourceGroup", "eas:OperateResourceGroup", "Resource": "*" }], "Version": "1" }"""


def session(user):
    client = APIClient()
    client.force_login(user)
    return client


def ok(response):
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["RequestId"] == response["x-acs-request-id"]
    return body


def error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["Code"] == code and body["RequestId"] and body["Message"]
    return body


def test_ram_user_lifecycle(main_client, tenant):
    created = ok(main_client.post("/api/v2/iam/users", {"UserName": "dev", "DisplayName": "Dev",
                                                          "Password": PASSWORD}, format="json"))
    assert created["User"]["UserPrincipalName"] == f"dev@{tenant.uid}"
    assert created["User"]["ConsoleLogin"] is True
    error(main_client.post("/api/v2/iam/users", {"UserName": "dev"}, format="json"), 400,
          "EntityAlreadyExists.User")
    error(main_client.post("/api/v2/iam/users", {"UserName": "bad name!"}, format="json"), 400,
          "InvalidParameter.UserName")
    error(main_client.post("/api/v2/iam/users", {}, format="json"), 400, "InvalidParameter")
    assert [u["UserName"] for u in ok(main_client.get("/api/v2/iam/users"))["Users"]] == ["dev"]
    updated = ok(main_client.put("/api/v2/iam/users/dev", {"Comments": "ci", "Password": ""}, format="json"))
    assert updated["User"]["Comments"] == "ci" and updated["User"]["ConsoleLogin"] is False
    ok(main_client.delete("/api/v2/iam/users/dev"))
    error(main_client.get("/api/v2/iam/users/dev"), 404, "EntityNotExist.User")


def test_access_key_lifecycle(main_client, tenant, client):
    make_ram_user(tenant)
    created = ok(main_client.post("/api/v2/iam/accesskeys", {"UserName": "dev"}, format="json"))["AccessKey"]
    key_id, secret = created["AccessKeyId"], created["AccessKeySecret"]
    assert key_id.startswith("LTAI") and len(secret) == 30 and created["Status"] == "Active"
    listed = ok(main_client.get("/api/v2/iam/accesskeys", {"UserName": "dev"}))["AccessKeys"]
    assert [k["AccessKeyId"] for k in listed] == [key_id] and listed[0]["LastUsedDate"] is None
    assert secret not in json.dumps(listed)
    user = ok(main_client.get("/api/v2/iam/users/dev"))["User"]
    assert secret not in json.dumps(user) and user["AccessKeys"][0]["AccessKeyId"] == key_id

    signed = SignedClient(client, key_id, secret)
    assert signed.request("GET", "/api/v2/regions").status_code == 200
    listed = ok(main_client.get("/api/v2/iam/accesskeys", {"UserName": "dev"}))["AccessKeys"]
    assert listed[0]["LastUsedDate"] is not None

    ok(main_client.put(f"/api/v2/iam/accesskeys/{key_id}", {"Status": "Inactive"}, format="json"))
    assert signed.request("GET", "/api/v2/regions").status_code == 403
    ok(main_client.put(f"/api/v2/iam/accesskeys/{key_id}", {"Status": "Active"}, format="json"))
    assert signed.request("GET", "/api/v2/regions").status_code == 200
    error(main_client.put(f"/api/v2/iam/accesskeys/{key_id}", {"Status": "Paused"}, format="json"), 400,
          "InvalidParameter")
    ok(main_client.delete(f"/api/v2/iam/accesskeys/{key_id}"))
    assert signed.request("GET", "/api/v2/regions").status_code == 401


def test_main_account_keys_and_limit(main_client, tenant):
    for _ in range(accesskeys.MAX_KEYS_PER_USER):
        ok(main_client.post("/api/v2/iam/accesskeys", {}, format="json"))
    error(main_client.post("/api/v2/iam/accesskeys", {}, format="json"), 400, "LimitExceeded.AccessKey")
    keys = ok(main_client.get("/api/v2/iam/accesskeys"))["AccessKeys"]
    assert len(keys) == 2 and {k["UserName"] for k in keys} == {"alice"}


def test_secrets_are_encrypted_and_never_logged(main_client, tenant, client, caplog):
    caplog.set_level(logging.DEBUG)
    created = ok(main_client.post("/api/v2/iam/accesskeys", {}, format="json"))["AccessKey"]
    secret = created["AccessKeySecret"]
    stored = AccessKey.objects.get(access_key_id=created["AccessKeyId"])
    assert secret not in stored.secret_ciphertext
    signed = SignedClient(client, created["AccessKeyId"], secret)
    signed.request("GET", "/api/v2/regions")
    signed.secret = "wrong" + secret[5:]
    signed.request("GET", "/api/v2/regions")
    signed.request("POST", "/api/v2/iam/users", data={"UserName": "x", "Password": secret})
    assert caplog.records, "expected request logs to inspect"
    assert all(secret not in r.getMessage() for r in caplog.records)
    assert secret not in caplog.text
    assert not AuditEntry.objects.filter(target__contains=secret).exists()


def test_policies(main_client, tenant):
    names = {(p["PolicyName"], p["PolicyType"]) for p in ok(main_client.get("/api/v2/iam/policies"))["Policies"]}
    assert ("AliyunFinanceConsoleFullAccess", "System") in names
    document = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "eas:Read*", "Resource": "*"}]}
    created = ok(main_client.post("/api/v2/iam/policies", {"PolicyName": "ReadAll", "PolicyDocument": document},
                                  format="json"))
    assert created["Policy"]["PolicyDocument"] == document and created["Policy"]["PolicyType"] == "Custom"
    as_text = json.dumps(document)
    ok(main_client.post("/api/v2/iam/policies", {"PolicyName": "ReadAll2", "PolicyDocument": as_text},
                        format="json"))
    error(main_client.post("/api/v2/iam/policies", {"PolicyName": "ReadAll", "PolicyDocument": document},
                           format="json"), 400, "EntityAlreadyExists.Policy")
    document["Statement"][0]["Effect"] = "Deny"
    updated = ok(main_client.put("/api/v2/iam/policies/ReadAll", {"PolicyDocument": document}, format="json"))
    assert updated["Policy"]["PolicyDocument"]["Statement"][0]["Effect"] == "Deny"
    error(main_client.put("/api/v2/iam/policies/AliyunFinanceConsoleFullAccess", {"Description": "x"},
                          format="json"), 403, "Forbidden.SystemPolicy")
    ok(main_client.delete("/api/v2/iam/policies/ReadAll2"))
    error(main_client.get("/api/v2/iam/policies/ReadAll2"), 404, "EntityNotExist.Policy")


def test_policy_validation_reports_each_problem(main_client):
    seed = error(main_client.post("/api/v2/iam/policies", {"PolicyName": "Seed", "PolicyDocument": SEED_POLICY},
                                  format="json"), 400, "MalformedPolicyDocument")
    assert "not valid JSON" in seed["Message"] and "line 3" in seed["Message"]
    bad = {"Version": "2", "Extra": 1, "Statement": [
        {"Effect": "allow", "Action": ["eas:ReadInstanse", "Nope"], "Resource": "acs:eas:x"},
        {"Effect": "Deny", "Resource": ["*", 5], "Condition": {}},
    ]}
    body = error(main_client.post("/api/v2/iam/policies", {"PolicyName": "Bad", "PolicyDocument": bad},
                                  format="json"), 400, "MalformedPolicyDocument")
    for fragment in ("Unknown key 'Extra'", "Version must be \"1\"", "Statement 1: Effect must be",
                     "'eas:ReadInstanse' matches no EAS permission point", "'Nope' is not an action",
                     "'acs:eas:x' is not '*' or a resource name", "Statement 2: key 'Condition'",
                     "Statement 2: Action is missing", "entries must be strings, not 5"):
        assert fragment in body["Message"], fragment


def test_attach_and_detach(main_client, tenant):
    make_ram_user(tenant)
    ok(main_client.post("/api/v2/iam/policies", {"PolicyName": "Ops", "PolicyDocument": {
        "Version": "1", "Statement": [{"Effect": "Allow", "Action": "eas:OperateResourceGroup", "Resource": "*"}],
    }}, format="json"))
    ok(main_client.post("/api/v2/iam/users/dev/policies", {"PolicyName": "Ops"}, format="json"))
    ok(main_client.post("/api/v2/iam/users/dev/policies",
                        {"PolicyName": "AliyunFinanceConsoleFullAccess", "PolicyType": "System"}, format="json"))
    error(main_client.post("/api/v2/iam/users/dev/policies", {"PolicyName": "Ops"}, format="json"), 400,
          "EntityAlreadyExists.User.Policy")
    attached = ok(main_client.get("/api/v2/iam/users/dev/policies"))["Policies"]
    assert {p["PolicyName"] for p in attached} == {"Ops", "AliyunFinanceConsoleFullAccess"}
    error(main_client.delete("/api/v2/iam/policies/Ops"), 400, "DeleteConflict.Policy.User")
    ok(main_client.delete("/api/v2/iam/users/dev/policies/Ops"))
    error(main_client.delete("/api/v2/iam/users/dev/policies/Ops"), 404, "EntityNotExist.User.Policy")
    ok(main_client.delete("/api/v2/iam/policies/Ops"))


def test_ram_users_cannot_manage_ram(tenant):
    ram_user = make_ram_user(tenant, statements=[{"Effect": "Allow", "Action": "*", "Resource": "*"}])
    client = session(ram_user.user)
    for method, path in [("get", "/api/v2/iam/users"), ("post", "/api/v2/iam/accesskeys"),
                         ("get", "/api/v2/iam/policies"), ("get", "/api/v2/iam/auditlogs"),
                         ("delete", "/api/v2/iam/users/dev")]:
        body = error(getattr(client, method)(path, format="json"), 403, "Forbidden.RAM")
        assert "only the main account" in body["Message"]
    # Authentication-only operations stay open to any RAM user.
    assert ok(client.get("/api/v2/regions"))["Regions"]


def test_other_tenants_objects_do_not_exist(main_client, tenant, other_tenant):
    theirs = make_ram_user(other_tenant, "theirs")
    key, _ = accesskeys.create_access_key(theirs)
    bob = session(other_tenant.owner)
    ok(bob.post("/api/v2/iam/policies", {"PolicyName": "BobPolicy", "PolicyDocument": {
        "Version": "1", "Statement": [{"Effect": "Allow", "Action": "eas:*", "Resource": "*"}]}}, format="json"))
    error(main_client.get("/api/v2/iam/users/theirs"), 404, "EntityNotExist.User")
    error(main_client.delete("/api/v2/iam/users/theirs"), 404, "EntityNotExist.User")
    error(main_client.put(f"/api/v2/iam/accesskeys/{key.access_key_id}", {"Status": "Inactive"}, format="json"),
          404, "EntityNotExist.User.AccessKey")
    error(main_client.delete(f"/api/v2/iam/accesskeys/{key.access_key_id}"), 404, "EntityNotExist.User.AccessKey")
    error(main_client.get("/api/v2/iam/accesskeys", {"UserName": "theirs"}), 404, "EntityNotExist.User")
    error(main_client.get("/api/v2/iam/policies/BobPolicy"), 404, "EntityNotExist.Policy")
    make_ram_user(tenant)
    error(main_client.post("/api/v2/iam/users/dev/policies", {"PolicyName": "BobPolicy"}, format="json"),
          404, "EntityNotExist.Policy")
    assert ok(main_client.get("/api/v2/iam/users"))["TotalCount"] == 1
    assert "BobPolicy" not in json.dumps(ok(main_client.get("/api/v2/iam/policies")))
    key.refresh_from_db()
    assert key.is_active


def test_audit_log_records_writes(tenant, client, other_tenant):
    key, secret = accesskeys.create_access_key(tenant)
    signed = SignedClient(client, key.access_key_id, secret)
    assert signed.request("POST", "/api/v2/iam/users", data={"UserName": "ci"}).status_code == 200
    assert signed.request("POST", "/api/v2/iam/users", data={"UserName": "ci"}).status_code == 400
    assert signed.request("GET", "/api/v2/iam/users").status_code == 200
    ram_user = make_ram_user(tenant, "dev")
    assert session(ram_user.user).post("/api/v2/iam/users", {"UserName": "x"}, format="json").status_code == 403
    session(other_tenant.owner).post("/api/v2/iam/users", {"UserName": "bobs"}, format="json")

    main = session(tenant.owner)
    logs = ok(main.get("/api/v2/iam/auditlogs"))
    assert logs["TotalCount"] == 3  # reads are not audited, bob's write is his own
    denied, conflict, created = logs["AuditLogs"]
    assert created["Operation"] == "CreateUser" and created["Result"] == "Success"
    assert created["UserName"] == "alice" and created["AccessKeyId"] == key.access_key_id
    assert created["Target"] == f"acs:ram::{tenant.uid}:user/ci" and created["AccountId"] == tenant.uid
    assert created["RequestId"] and created["StatusCode"] == 200
    assert conflict["Result"] == "EntityAlreadyExists.User" and conflict["StatusCode"] == 400
    assert denied["UserName"] == f"dev@{tenant.uid}" and denied["Result"] == "Forbidden.RAM"
    assert denied["AccessKeyId"] == ""
    page = ok(main.get("/api/v2/iam/auditlogs", {"PageSize": 1, "PageNumber": 2}))
    assert [e["EventId"] for e in page["AuditLogs"]] == [conflict["EventId"]]
    only = ok(main.get("/api/v2/iam/auditlogs", {"UserName": f"dev@{tenant.uid}"}))
    assert only["TotalCount"] == 1


@pytest.mark.parametrize("login", ["dev@{uid}", "dev@alice"])
def test_ram_user_console_login(client, tenant, login):
    make_ram_user(tenant)
    response = client.post("/login/", {"username": login.format(uid=tenant.uid), "password": PASSWORD})
    assert response.status_code == 302, response.content
    assert client.get("/").status_code == 200
    assert client.get("/api/v2/regions").status_code == 200


def test_console_login_refuses_wrong_password_and_api_only_users(client, tenant):
    make_ram_user(tenant, password=None)
    assert client.post("/login/", {"username": f"dev@{tenant.uid}", "password": ""}).status_code == 200
    assert client.post("/login/", {"username": "alice", "password": "wrong"}).status_code == 200
    assert client.post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 302


def test_session_writes_need_csrf(tenant):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(tenant.owner)
    error(client.post("/api/v2/iam/users", {"UserName": "x"}, format="json"), 403, "Forbidden")
    client.get("/")  # any console page with a form sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    ok(client.post("/api/v2/iam/users", {"UserName": "x"}, format="json", HTTP_X_CSRFTOKEN=token))
