"""AccessKey request signing (ACS3-HMAC-SHA256): accepted when right, refused when anything changed."""
import json
from datetime import UTC, datetime, timedelta

import pytest

from console.iam import signing
from console.iam.models import AccessKey

REGIONS = "/api/v2/regions"
USERS = "/api/v2/iam/users"


def assert_pop_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["Code"] == code
    assert body["Message"] and body["RequestId"]
    assert response["x-acs-request-id"] == body["RequestId"]


def test_signed_request_is_accepted(signed):
    response = signed.request("GET", REGIONS)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["RequestId"] == response["x-acs-request-id"]
    assert "cn-shanghai" in [r["RegionId"] for r in body["Regions"]]


def test_signed_write_with_query_and_body(signed):
    response = signed.request("POST", USERS, query={"x": "a b/c", "Empty": ""}, data={"UserName": "ci"})
    assert response.status_code == 200, response.content
    assert response.json()["User"]["UserName"] == "ci"


def test_last_used_time_is_recorded(signed):
    assert signed.access_key.last_used is None
    signed.request("GET", REGIONS)
    first = AccessKey.objects.get(pk=signed.access_key.pk).last_used
    assert first is not None
    signed.request("GET", REGIONS)
    # Within the granularity window a second call does not write again.
    assert AccessKey.objects.get(pk=signed.access_key.pk).last_used == first


def test_changed_body_is_refused(signed):
    body = json.dumps({"UserName": "ci"}).encode()
    headers = signed.signed_headers("POST", USERS, body=body)
    response = signed.send("POST", USERS, body=json.dumps({"UserName": "evil"}).encode(), headers=headers)
    assert_pop_error(response, 401, "SignatureDoesNotMatch")


def test_changed_body_with_recomputed_hash_is_refused(signed):
    body = json.dumps({"UserName": "ci"}).encode()
    evil = json.dumps({"UserName": "evil"}).encode()
    headers = signed.signed_headers("POST", USERS, body=body)
    headers["x-acs-content-sha256"] = signing.sha256_hex(evil)
    assert_pop_error(signed.send("POST", USERS, body=evil, headers=headers), 401, "SignatureDoesNotMatch")


def test_changed_path_is_refused(signed):
    headers = signed.signed_headers("GET", REGIONS)
    assert_pop_error(signed.send("GET", USERS, headers=headers), 401, "SignatureDoesNotMatch")


def test_changed_method_is_refused(signed):
    headers = signed.signed_headers("GET", USERS)
    assert_pop_error(signed.send("POST", USERS, headers=headers), 401, "SignatureDoesNotMatch")


def test_changed_query_is_refused(signed):
    headers = signed.signed_headers("GET", REGIONS, query={"PageSize": "10"})
    response = signed.send("GET", REGIONS, query={"PageSize": "100"}, headers=headers)
    assert_pop_error(response, 401, "SignatureDoesNotMatch")
    headers = signed.signed_headers("GET", REGIONS)
    response = signed.send("GET", REGIONS, query={"Extra": "1"}, headers=headers)
    assert_pop_error(response, 401, "SignatureDoesNotMatch")


def test_changed_signed_header_is_refused(signed):
    headers = signed.signed_headers("GET", REGIONS, extra={"x-acs-action": "DescribeRegions"})
    headers["x-acs-action"] = "DeleteService"
    assert_pop_error(signed.send("GET", REGIONS, headers=headers), 401, "SignatureDoesNotMatch")
    headers = signed.signed_headers("GET", REGIONS)
    headers["host"] = "elsewhere.example"
    assert_pop_error(signed.send("GET", REGIONS, headers=headers), 401, "SignatureDoesNotMatch")


def test_unsigned_acs_header_is_refused(signed):
    headers = signed.signed_headers("GET", REGIONS)
    headers["x-acs-action"] = "DeleteService"
    assert_pop_error(signed.send("GET", REGIONS, headers=headers), 401, "IncompleteSignature")


def test_missing_date_or_nonce_is_refused(signed):
    headers = signed.signed_headers("GET", REGIONS)
    del headers["x-acs-signature-nonce"]
    assert_pop_error(signed.send("GET", REGIONS, headers=headers), 401, "IncompleteSignature")


def test_expired_date_is_refused(signed):
    old = datetime.now(UTC) - timedelta(minutes=16)
    assert_pop_error(signed.request("GET", REGIONS, now=old), 401, "InvalidTimeStamp.Expired")
    future = datetime.now(UTC) + timedelta(minutes=16)
    assert_pop_error(signed.request("GET", REGIONS, now=future), 401, "InvalidTimeStamp.Expired")
    recent = datetime.now(UTC) - timedelta(minutes=14)
    assert signed.request("GET", REGIONS, now=recent).status_code == 200


def test_reused_nonce_is_refused(signed):
    headers = signed.signed_headers("GET", REGIONS)
    assert signed.send("GET", REGIONS, headers=headers).status_code == 200
    assert_pop_error(signed.send("GET", REGIONS, headers=headers), 401, "SignatureNonceUsed")


def test_wrong_secret_is_refused(signed):
    signed.secret = signed.secret[:-1] + ("A" if signed.secret[-1] != "A" else "B")
    assert_pop_error(signed.request("GET", REGIONS), 401, "SignatureDoesNotMatch")


def test_disabled_key_is_refused(signed):
    AccessKey.objects.filter(pk=signed.access_key.pk).update(status=AccessKey.Status.INACTIVE)
    assert_pop_error(signed.request("GET", REGIONS), 403, "InvalidAccessKeyId.Inactive")
    AccessKey.objects.filter(pk=signed.access_key.pk).update(status=AccessKey.Status.ACTIVE)
    assert signed.request("GET", REGIONS).status_code == 200


def test_deleted_key_is_refused(signed):
    signed.access_key.delete()
    assert_pop_error(signed.request("GET", REGIONS), 401, "InvalidAccessKeyId.NotFound")


def test_malformed_authorization_is_refused(signed, client):
    response = client.get(REGIONS, headers={"authorization": "ACS3-HMAC-SHA256 Credential=x"})
    assert_pop_error(response, 401, "IncompleteSignature")
    headers = signed.signed_headers("GET", REGIONS)
    headers["authorization"] = headers["authorization"].replace("ACS3-HMAC-SHA256", "ACS3-HMAC-SM3")
    assert_pop_error(signed.send("GET", REGIONS, headers=headers), 401, "SignatureMethodNotSupported")


def test_anonymous_request_is_refused(client):
    assert_pop_error(client.get(REGIONS), 401, "Unauthorized")


@pytest.mark.parametrize("path", ["/api/v2/services/cn-shanghai/my svc", "/api/v2/a~b/c:d"])
def test_canonical_request_matches_the_sdk(path):
    """Our canonical form and the SDK's own signer agree, including encoded paths and queries."""
    from alibabacloud_tea_openapi.utils import Utils
    from darabonba.request import DaraRequest

    request = DaraRequest()
    request.method, request.pathname = "PUT", signing.canonical_uri(path)
    request.query = {"Filter": "a b/c*", "PageSize": "10", "Order": ""}
    request.headers = {"host": "h:1", "x-acs-date": "2024-01-01T00:00:00Z", "x-acs-signature-nonce": "n",
                       "content-type": "application/json; charset=utf-8", "user-agent": " ua  "}
    payload = signing.sha256_hex(b'{"a": 1}')
    authorization = Utils.get_authorization(request, signing.ALGORITHM, payload, "AK", "SECRET")
    _, key_id, names, claimed = signing.parse_authorization(authorization)
    canonical = signing.canonical_request("PUT", path, request.query.items(), request.headers, names, payload)
    assert key_id == "AK" and signing.signature("SECRET", canonical) == claimed
