"""Who may call a service: its token, sent plainly or as the `eas-prediction` SDK's signature.

The SDK signs `"<verb>\\n<md5 hex of body>\\n<Content-Type>\\n<Date>\\n/api/predict/<service>"`
(stripped) with HMAC-SHA1 keyed by the token and sends `Authorization: EAS <base64 digest>`.
The Date is not checked for freshness: the SDK writes local time labelled "GMT", so a skew
window would reject every client east or west of UTC.

Pure functions without Django, so an instance server can check direct calls the same way.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

SIGNATURE_SCHEME = "EAS "


def signature(token: str, verb: str, body: bytes, content_type: str, date: str, resource: str) -> str:
    canonical = f"{verb}\n{hashlib.md5(body).hexdigest()}\n{content_type}\n{date}\n{resource}".strip()
    digest = hmac.new(token.encode(), canonical.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def is_signature(authorization: str) -> bool:
    return authorization.startswith(SIGNATURE_SCHEME)


def token_matches(authorization: str, tokens: Iterable[str]) -> bool:
    """The plain-token form: the header is the token itself."""
    given = authorization.strip().encode()
    return any(hmac.compare_digest(given, token.encode()) for token in tokens)


def signature_matches(authorization: str, tokens: Iterable[str], *, verb: str, body: bytes,
                      content_type: str, date: str, resources: Iterable[str]) -> bool:
    """The signed form; `resources` are the spellings of the request path the client may have signed."""
    given = authorization[len(SIGNATURE_SCHEME):].strip().encode()
    return any(
        hmac.compare_digest(given, signature(token, verb, body, content_type, date, resource).encode())
        for token in tokens for resource in resources
    )
