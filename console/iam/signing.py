"""Alibaba Cloud V3 request signatures (`ACS3-HMAC-SHA256`), as the official SDKs compute them.

canonical request = METHOD \\n URI \\n sorted query \\n `name:value\\n` per signed header \\n
                    signed header names joined by `;` \\n hex SHA-256 of the body
string to sign    = `ACS3-HMAC-SHA256` \\n hex SHA-256 of the canonical request
Authorization     = `ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<names>,Signature=<hex HMAC>`

The server side and the project's own clients (`eascmd`, tests) share these functions.
"""
import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from urllib.parse import quote

ALGORITHM = "ACS3-HMAC-SHA256"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_uri(path: str) -> str:
    """The path as the SDK sends it: every segment percent-encoded, `/` kept."""
    return quote(path or "/", safe="/~")


def canonical_query(items) -> str:
    """`k=v` pairs sorted by key, values percent-encoded (space as %20), keys as they are."""
    pairs = sorted((k, v) for k, v in items if v is not None)
    return "&".join(f"{k}={quote(str(v), safe='~')}" for k, v in pairs)


def canonical_request(method: str, path: str, query_items, headers: dict[str, str],
                      signed_headers: list[str], payload_hash: str) -> str:
    """`headers` maps lower-case names to values; only the names in `signed_headers` are used."""
    header_lines = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed_headers)
    return "\n".join([
        method.upper(), canonical_uri(path), canonical_query(query_items), header_lines,
        ";".join(signed_headers), payload_hash,
    ])


def signature(secret: str, canonical: str) -> str:
    string_to_sign = f"{ALGORITHM}\n{sha256_hex(canonical.encode())}"
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def parse_authorization(value: str) -> tuple[str, str, list[str], str]:
    """(algorithm, access key id, signed header names, signature); ValueError when malformed."""
    algorithm, _, rest = value.strip().partition(" ")
    fields = {}
    for part in rest.split(","):
        key, sep, val = part.strip().partition("=")
        if not sep:
            raise ValueError(f"malformed Authorization field {part.strip()!r}")
        fields[key] = val
    try:
        credential, signed, sig = fields["Credential"], fields["SignedHeaders"], fields["Signature"]
    except KeyError as exc:
        raise ValueError(f"Authorization lacks {exc.args[0]}") from None
    names = signed.split(";") if signed else []
    if not credential or not sig or names != sorted(n.lower() for n in names):
        raise ValueError("SignedHeaders must be lower-case names in sorted order")
    return algorithm, credential, names, sig


def sign_request(method: str, path: str, query: dict, headers: dict[str, str], body: bytes,
                 access_key_id: str, secret: str, *, now: datetime | None = None,
                 nonce: str | None = None) -> dict[str, str]:
    """Headers (including Authorization) for a request; `headers` must contain `host`."""
    signed = {k.lower(): str(v) for k, v in headers.items()}
    signed.setdefault("x-acs-date", (now or datetime.now(UTC)).strftime(DATE_FORMAT))
    signed.setdefault("x-acs-signature-nonce", nonce or secrets.token_hex(16))
    signed["x-acs-content-sha256"] = sha256_hex(body)
    names = sorted(signed)
    canonical = canonical_request(method, path, query.items(), signed, names, signed["x-acs-content-sha256"])
    signed["authorization"] = (
        f"{ALGORITHM} Credential={access_key_id},SignedHeaders={';'.join(names)},"
        f"Signature={signature(secret, canonical)}"
    )
    return signed
