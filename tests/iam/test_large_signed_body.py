"""A signed request with a body larger than Django's in-memory limit is verified in chunks and
still delivered whole to the view; a changed large body is refused."""
import hashlib

import pytest
from rest_framework.test import APIRequestFactory

from console.iam import signing
from console.iam.accesskeys import create_access_key
from console.iam.accounts import create_main_account
from console.iam.api.authentication import verify
from console.iam.errors import Unauthorized

pytestmark = pytest.mark.django_db
PATH = "/api/v2/storage/objects/big.bin"


def signed_put(signed_body: bytes, sent_body: bytes, key_id: str, secret: str):
    headers = signing.sign_request("PUT", PATH, {}, {"host": "testserver",
                                                     "content-type": "application/octet-stream"},
                                   signed_body, key_id, secret)
    extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()
             if name not in ("content-type", "host")}
    return APIRequestFactory().put(PATH, data=sent_body, content_type="application/octet-stream",
                                   HTTP_HOST="testserver", **extra)


@pytest.fixture
def access_key(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    key, secret = create_access_key(create_main_account("uploader", "uploader-pass-1"))
    return key, secret


def test_large_body_is_hashed_in_chunks_and_still_readable(access_key):
    key, secret = access_key
    body = bytes(range(256)) * (12 * 1024)  # 3 MiB, three times the in-memory limit
    request = signed_put(body, body, key.access_key_id, secret)

    assert verify(request) == key
    assert hashlib.sha256(request.read()).hexdigest() == hashlib.sha256(body).hexdigest()


def test_changed_large_body_is_refused(access_key):
    key, secret = access_key
    body = b"a" * (3 * 1024 * 1024)
    with pytest.raises(Unauthorized, match="does not match"):
        verify(signed_put(body, body[:-1] + b"b", key.access_key_id, secret))
