"""HTTP(S) model sources: streamed to disk with httpx, size-limited, with errors that name the
status and the URL (never its credentials or query string, which may hold a signature)."""
import re
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

import httpx

from services.storage.errors import SourceUnavailable, TooLarge
from services.storage.streams import LimitedWriter, format_bytes
from services.storage.validators import Validators

# Ask for the bytes as stored: a `.tar.gz` must not come back transparently decompressed.
REQUEST_HEADERS = {"Accept-Encoding": "identity"}
FILENAME_RE = re.compile(r"""filename\*=(?:UTF-8|utf-8)''([^;]+)|filename="?([^";]+)"?""")


def redact(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}" + ("?…" if parts.query else "")


def filename_of(headers, url: str) -> str:
    """The name the server gives the object (Content-Disposition), else the URL's last segment."""
    match = FILENAME_RE.search(headers.get("content-disposition", ""))
    if match:
        return unquote(match.group(1) or match.group(2)).rpartition("/")[2]
    return unquote(urlsplit(url).path).rpartition("/")[2]


@dataclass(frozen=True)
class Download:
    validators: Validators
    filename: str
    digest: str
    size: int


def _client(timeout: float) -> httpx.Client:
    return httpx.Client(follow_redirects=True, timeout=httpx.Timeout(timeout), headers=REQUEST_HEADERS)


def probe(url: str, *, timeout: float) -> Validators | None:
    """The object's current validators from a HEAD request; None when the server will not say
    (then the caller downloads, and the digest still avoids a second extraction)."""
    try:
        with _client(timeout) as client:
            response = client.head(url)
    except httpx.HTTPError:
        return None
    return Validators.from_headers(response.headers) if response.status_code == 200 else None


def download(url: str, out: BinaryIO, *, max_bytes: int, timeout: float) -> Download:
    """GET `url` into `out`, checking the status, the size limit and the announced length."""
    shown = redact(url)
    try:
        with _client(timeout) as client, client.stream("GET", url) as response:
            if response.status_code != 200:
                raise SourceUnavailable(f"GET {shown} answered {response.status_code} {response.reason_phrase}")
            validators = Validators.from_headers(response.headers)
            if validators.size is not None and validators.size > max_bytes:
                raise TooLarge(f"{shown} is {format_bytes(validators.size)}, over the limit of "
                               f"{format_bytes(max_bytes)}")
            writer = LimitedWriter(out, max_bytes, shown).write_all(response.iter_raw())
            filename = filename_of(response.headers, str(response.url))
    except httpx.TimeoutException:
        raise SourceUnavailable(f"downloading {shown} timed out after {timeout:g}s") from None
    except httpx.HTTPError as exc:
        raise SourceUnavailable(f"downloading {shown} failed: {exc}") from None
    if validators.size is not None and writer.size != validators.size:
        raise SourceUnavailable(f"{shown} sent {writer.size} bytes but announced {validators.size}")
    return Download(validators, filename, writer.digest, writer.size)
