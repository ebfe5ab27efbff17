"""The unmodified official SDK (`alibabacloud-eas20210701`) authenticates against a real web process."""
import json
from urllib.parse import urlsplit

import httpx
import pytest
from alibabacloud_eas20210701.client import Client
from alibabacloud_tea_openapi.models import Config
from darabonba.exceptions import DaraException

from console.iam import accesskeys, accounts
from console.iam.models import AuditEntry
from console.iam.signing import sign_request


def sdk_client(base_url, access_key_id, secret):
    return Client(Config(access_key_id=access_key_id, access_key_secret=secret,
                         endpoint=urlsplit(base_url).netloc, protocol="http", region_id="cn-shanghai",
                         read_timeout=10000, connect_timeout=5000))


@pytest.fixture
def sdk_key(transactional_db):
    account = accounts.create_main_account("sdk-tenant", "correct horse battery")
    access_key, secret = accesskeys.create_access_key(account)
    return access_key, secret


def test_sdk_describe_regions(web_server, sdk_key):
    access_key, secret = sdk_key
    response = sdk_client(web_server.base_url, access_key.access_key_id, secret).describe_regions()
    assert response.status_code == 200
    assert response.body.request_id == response.headers["x-acs-request-id"]
    regions = {r.region_id: r.region_name for r in response.body.regions}
    assert {"cn-shanghai", "cn-beijing", "cn-hangzhou", "us-east-1"} <= set(regions)
    access_key.refresh_from_db()
    assert access_key.last_used is not None


def test_sdk_with_wrong_secret_is_refused(web_server, sdk_key):
    access_key, secret = sdk_key
    client = sdk_client(web_server.base_url, access_key.access_key_id, secret[::-1])
    with pytest.raises(DaraException) as exc:
        client.describe_regions()
    assert exc.value.code == "SignatureDoesNotMatch"
    assert exc.value.data["statusCode"] == 401 and exc.value.data["RequestId"]


def test_signed_write_through_the_web_process(web_server, sdk_key):
    """A signed JSON body and a percent-encoded path survive the real ASGI server unchanged."""
    access_key, secret = sdk_key
    host = urlsplit(web_server.base_url).netloc
    body = json.dumps({"UserName": "ci.bot", "DisplayName": "CI 机器人"}).encode()
    headers = sign_request("POST", "/api/v2/iam/users", {}, {"host": host, "content-type": "application/json"},
                           body, access_key.access_key_id, secret)
    response = httpx.post(f"{web_server.base_url}/api/v2/iam/users", content=body, headers=headers)
    assert response.status_code == 200, response.text
    headers = sign_request("GET", "/api/v2/iam/users/ci.bot", {"x": "a b"}, {"host": host},
                           b"", access_key.access_key_id, secret)
    response = httpx.get(f"{web_server.base_url}/api/v2/iam/users/ci.bot?x=a%20b", headers=headers)
    assert response.json()["User"]["DisplayName"] == "CI 机器人"
    entry = AuditEntry.objects.get(operation="CreateUser")
    assert entry.access_key_id == access_key.access_key_id and entry.result == "Success"
