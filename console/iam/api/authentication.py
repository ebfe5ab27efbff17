"""AccessKey authentication of API requests signed with Alibaba Cloud's V3 signature.

A request carries `Authorization: ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=...,Signature=...`
plus `x-acs-date` (accepted within MAX_CLOCK_SKEW of our clock) and `x-acs-signature-nonce`
(accepted once: nonces are remembered in the cache for twice the skew). `host`, the date, the nonce,
every `x-acs-*` header and, when there is a body, `content-type` must be signed; the body is
hashed here, so a changed body breaks the signature. The unmodified Alibaba Cloud SDKs sign
exactly this way. Browser sessions keep using DRF's SessionAuthentication (with CSRF).
"""
import hashlib
import hmac
import tempfile
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from rest_framework import authentication, exceptions

from console.iam import accesskeys, signing
from console.iam.errors import ApiError, Forbidden, Unauthorized

MAX_CLOCK_SKEW = timedelta(minutes=15)
NONCE_TTL_SECONDS = int(2 * MAX_CLOCK_SKEW.total_seconds())
BODY_CHUNK_BYTES = 1024 * 1024
REQUIRED_SIGNED_HEADERS = ("host", "x-acs-date", "x-acs-signature-nonce")


class SignatureRejected(exceptions.AuthenticationFailed):
    """Carries the POP error to the exception handler through DRF's authentication machinery."""

    def __init__(self, error: ApiError):
        super().__init__(error.message, error.code)
        self.api_error = error


def _header(request, name: str) -> str | None:
    if name == "content-type":
        return request.META.get("CONTENT_TYPE")
    if name == "content-length":
        return request.META.get("CONTENT_LENGTH")
    return request.META.get("HTTP_" + name.upper().replace("-", "_"))


def _request_headers(request) -> dict[str, str]:
    """Lower-case name -> value of every header the client sent."""
    headers = {k[5:].lower().replace("_", "-"): v for k, v in request.META.items() if k.startswith("HTTP_")}
    for name in ("content-type", "content-length"):
        if _header(request, name):
            headers[name] = _header(request, name)
    return headers


def _check_date(value: str | None) -> None:
    try:
        when = datetime.strptime(value or "", signing.DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise Unauthorized(
            f"x-acs-date must be a UTC time like 2024-01-31T08:00:00Z, not {value!r}.",
            code="InvalidTimeStamp.Format",
        ) from None
    if abs(datetime.now(UTC) - when) > MAX_CLOCK_SKEW:
        raise Unauthorized(
            "x-acs-date is more than 15 minutes away from the server time; check the client clock.",
            code="InvalidTimeStamp.Expired",
        )


def _hash_body(request) -> tuple[str, bool]:
    """(sha256 hex, non-empty) of the body, read in chunks so that large signed uploads are not
    held in memory; the body is put back (spooled to disk when large) for the view to read."""
    if hasattr(request, "_body"):
        return signing.sha256_hex(request._body), bool(request._body)
    digest = hashlib.sha256()
    spool = tempfile.SpooledTemporaryFile(max_size=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    size = 0
    while chunk := request.read(BODY_CHUNK_BYTES):
        digest.update(chunk)
        spool.write(chunk)
        size += len(chunk)
    spool.seek(0)
    request._stream = spool
    request._read_started = False
    return digest.hexdigest(), size > 0


def verify(request):
    """(AccessKey, nonce) of a correctly signed request, else raise Unauthorized/Forbidden."""
    try:
        algorithm, key_id, signed_names, claimed = signing.parse_authorization(
            request.META.get("HTTP_AUTHORIZATION", ""))
    except ValueError as exc:
        raise Unauthorized(f"The Authorization header is malformed: {exc}.", code="IncompleteSignature") from None
    if algorithm != signing.ALGORITHM:
        raise Unauthorized(f"Signature algorithm {algorithm} is not supported; use {signing.ALGORITHM}.",
                           code="SignatureMethodNotSupported")
    headers = _request_headers(request)
    payload_hash, has_body = _hash_body(request)
    required = set(REQUIRED_SIGNED_HEADERS) | {n for n in headers if n.startswith("x-acs-")}
    if has_body and "content-type" in headers:
        required.add("content-type")
    missing = sorted(n for n in required if n not in signed_names or n not in headers)
    if missing:
        raise Unauthorized(f"These headers must be sent and signed: {', '.join(missing)}.",
                           code="IncompleteSignature")
    _check_date(headers["x-acs-date"])
    if headers.get("x-acs-content-sha256", payload_hash) != payload_hash:
        raise Unauthorized("x-acs-content-sha256 does not match the request body.",
                           code="SignatureDoesNotMatch")
    access_key = accesskeys.find(key_id)
    if access_key is None:
        raise Unauthorized("The AccessKey ID does not exist.", code="InvalidAccessKeyId.NotFound")
    if not access_key.is_active or not access_key.user.is_active:
        raise Forbidden("The AccessKey is disabled.", code="InvalidAccessKeyId.Inactive")
    canonical = signing.canonical_request(
        request.method, request.path, [(k, v) for k, values in request.GET.lists() for v in values], headers, signed_names, payload_hash)
    expected = signing.signature(accesskeys.decrypt_secret(access_key), canonical)
    if not hmac.compare_digest(expected, claimed):
        raise Unauthorized("The request signature does not match the one we calculated; "
                           "check the AccessKey secret and the signing method.",
                           code="SignatureDoesNotMatch")
    nonce = headers["x-acs-signature-nonce"]
    if not cache.add(f"iam:nonce:{key_id}:{nonce}", 1, timeout=NONCE_TTL_SECONDS):
        raise Unauthorized("x-acs-signature-nonce was already used; send a new nonce per request.",
                           code="SignatureNonceUsed")
    return access_key


class AcsSignatureAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        if not request.META.get("HTTP_AUTHORIZATION", "").startswith("ACS3-"):
            return None
        try:
            access_key = verify(request._request)
        except ApiError as error:
            raise SignatureRejected(error) from None
        accesskeys.touch(access_key)
        return access_key.user, access_key

    def authenticate_header(self, request):
        return signing.ALGORITHM
