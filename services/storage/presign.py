"""Time-limited download URLs for embedded-store objects.

Node agents on other machines cannot read the control machine's disk, so the deployment engine
hands them `<console>/storage/objects/<token>` instead of `oss://eas-model-…`. The token carries
the object's URI and an expiry, signed with an HMAC keyed by SECRET_KEY; whoever holds the URL
may download that one object or folder until it expires, and nothing else.
"""
import base64
import binascii
import hmac
import json
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.crypto import salted_hmac

from services.storage.errors import InvalidKey, InvalidToken
from services.storage.keys import OssUri, parse_oss_uri, validate_key
from services.storage.store import is_embedded_bucket

URL_PATH = "/storage/objects/"
SALT = "services.storage.presign"


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(payload: str) -> str:
    return _b64encode(salted_hmac(SALT, payload, algorithm="sha256").digest())


def presign(oss_uri: str, ttl: float) -> str:
    """A URL from which the object or folder `oss_uri` of the embedded store can be downloaded
    for `ttl` seconds, without other credentials (folders arrive as a tar stream)."""
    uri = parse_oss_uri(oss_uri)
    if not is_embedded_bucket(uri.bucket):
        raise InvalidKey(f"{oss_uri} is not in the embedded store; only its objects can be presigned")
    if not uri.key:
        raise InvalidKey(f"{oss_uri} names a whole bucket; presign an object or a folder")
    validate_key(uri.key, folder=True)
    claims = {"uri": str(uri), "exp": int(time.time() + ttl)}
    payload = _b64encode(json.dumps(claims, separators=(",", ":")).encode())
    return f"{settings.EAS_CONSOLE_URL.rstrip('/')}{URL_PATH}{payload}.{_signature(payload)}"


def _claims(payload: str) -> dict:
    try:
        claims = json.loads(_b64decode(payload))
    except (binascii.Error, ValueError):
        raise InvalidToken("the download link is malformed") from None
    if not isinstance(claims, dict) or not isinstance(claims.get("uri"), str) or not isinstance(claims.get("exp"), int):
        raise InvalidToken("the download link is malformed")
    return claims


def verify(token: str) -> OssUri:
    """The URI a token grants, if its signature holds and it has not expired."""
    payload, _, signature = token.partition(".")
    if not payload or not hmac.compare_digest(_signature(payload), signature):
        raise InvalidToken("the download link is invalid: its signature does not match")
    claims = _claims(payload)
    if claims["exp"] < time.time():
        expired = datetime.fromtimestamp(claims["exp"], tz=UTC).isoformat(timespec="seconds")
        raise InvalidToken(f"the download link expired at {expired}; ask for a new one")
    return parse_oss_uri(claims["uri"])


def presigned_identity(url: str) -> str | None:
    """For a presigned URL, an identity that stays the same when the link is signed again:
    the server's origin plus the object's URI. The signature is not checked (agents need not
    know SECRET_KEY): the origin is part of the identity, so a look-alike URL from another
    server cannot stand in for this console's objects in the cache."""
    parts = urlsplit(url)
    base, found, token = parts.path.rpartition(URL_PATH)
    if parts.scheme not in ("http", "https") or not found:
        return None
    try:
        uri = _claims(token.partition(".")[0])["uri"]
    except InvalidToken:
        return None
    return f"presigned:{parts.scheme}://{parts.netloc.rpartition('@')[2]}{base}{URL_PATH}{uri}"
