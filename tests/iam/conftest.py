import json
from urllib.parse import quote, urlencode

import pytest
from rest_framework.test import APIClient

from console.iam import accesskeys, accounts, policies
from console.iam.signing import sign_request

PASSWORD = "correct horse battery"


@pytest.fixture
def tenant(db):
    return accounts.create_main_account("alice", PASSWORD)


@pytest.fixture
def other_tenant(db):
    return accounts.create_main_account("bob", PASSWORD)


@pytest.fixture
def main_client(tenant):
    client = APIClient()
    client.force_login(tenant.owner)
    return client


def make_ram_user(account, name="dev", statements=None, password=PASSWORD, attach=()):
    """A RAM user with a custom policy holding `statements` and the named system policies."""
    ram_user = accounts.create_ram_user(account, name, password=password)
    if statements:
        policy = policies.create_policy(account, f"{name}-policy", {"Version": "1", "Statement": statements})
        policies.attach(policy, ram_user)
    for system_name in attach:
        policies.attach(policies.find_policy(account, system_name, "System"), ram_user)
    return ram_user


class SignedClient:
    """Signs requests like the Alibaba Cloud SDKs do, with hooks to tamper after signing."""

    def __init__(self, client, access_key_id, secret, host="testserver"):
        self.client, self.access_key_id, self.secret, self.host = client, access_key_id, secret, host

    def signed_headers(self, method, path, query=None, body=b"", extra=None, **sign_kwargs):
        headers = {"host": self.host, "x-acs-version": "2021-07-01", "accept": "application/json",
                   **(extra or {})}
        if body:
            headers["content-type"] = "application/json; charset=utf-8"
        return sign_request(method, path, query or {}, headers, body, self.access_key_id, self.secret,
                            **sign_kwargs)

    def send(self, method, path, query=None, body=b"", headers=None):
        url = path + ("?" + urlencode(query, quote_via=quote) if query else "")
        headers = dict(headers)
        content_type = headers.pop("content-type", None)
        return self.client.generic(method, url, data=body, content_type=content_type or "",
                                   headers=headers)

    def request(self, method, path, query=None, data=None, **sign_kwargs):
        body = json.dumps(data).encode() if data is not None else b""
        return self.send(method, path, query, body, self.signed_headers(method, path, query, body, **sign_kwargs))


@pytest.fixture
def signed(client, tenant):
    access_key, secret = accesskeys.create_access_key(tenant)
    signed = SignedClient(client, access_key.access_key_id, secret)
    signed.access_key = access_key
    return signed


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Password hashing dominates these tests' time; its strength is not what they check."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
