"""Names in the object store: buckets, object keys, `oss://` URIs, and single file names.

Keys become paths on disk (the embedded store, the cache), so they are checked before any file
is touched: relative, no `.`/`..` segments, no empty segments, and only characters that are safe
in a path, a URL and a shell (letters and digits of any script, space and `._-+=@,~()`).
"""
import re
from dataclasses import dataclass

from services.storage.errors import InvalidKey

MAX_KEY_BYTES = 1023
MAX_SEGMENT_BYTES = 255
SEGMENT_RE = re.compile(r"^[\w.\-+=@,~() ]+$")
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
OSS_SCHEME = "oss://"


def validate_segment(segment: str, what: str = "path") -> str:
    if segment in ("", ".", ".."):
        raise InvalidKey(f"{what} may not contain empty, '.' or '..' segments")
    if len(segment.encode()) > MAX_SEGMENT_BYTES:
        raise InvalidKey(f"{what} has a name longer than {MAX_SEGMENT_BYTES} bytes: {segment[:40]}…")
    if not SEGMENT_RE.match(segment) or segment != segment.strip():
        raise InvalidKey(f"{what} segment {segment!r} may only use letters, digits, space and ._-+=@,~() "
                         "and may not start or end with a space")
    return segment


def validate_key(key: str, *, folder: bool = False) -> str:
    """`key` if it is a safe object key; `folder=True` allows (and keeps) one trailing slash."""
    if not isinstance(key, str) or not key:
        raise InvalidKey("path must not be empty")
    if key.startswith("/"):
        raise InvalidKey(f"path must be relative, not {key!r}")
    if "\\" in key:
        raise InvalidKey(f"path must use '/' as separator: {key!r}")
    if len(key.encode()) > MAX_KEY_BYTES:
        raise InvalidKey(f"path is longer than {MAX_KEY_BYTES} bytes")
    body = key[:-1] if folder and key.endswith("/") else key
    for segment in body.split("/"):
        validate_segment(segment, "path")
    return key


def validate_filename(name: str) -> str:
    """A single file name (no directories), as a downloaded object is saved under."""
    return validate_segment(name, "file name")


def safe_filename(name: str, default: str = "model") -> str:
    """`name` with characters that are unsafe in a path replaced by '_', for names taken from URLs."""
    cleaned = "".join(c if SEGMENT_RE.match(c) else "_" for c in name).strip()
    cleaned = cleaned.encode()[:MAX_SEGMENT_BYTES].decode(errors="ignore")
    return cleaned if cleaned.strip(".") else default


def validate_bucket(bucket: str) -> str:
    if not BUCKET_RE.match(bucket or ""):
        raise InvalidKey(f"bucket {bucket!r} must be 3-63 lower-case letters, digits and '-'")
    return bucket


@dataclass(frozen=True)
class OssUri:
    """`oss://bucket/key`; a key that is empty or ends with '/' names a folder."""

    bucket: str
    key: str

    @property
    def is_folder(self) -> bool:
        return self.key == "" or self.key.endswith("/")

    @property
    def name(self) -> str:
        """Last segment of the key: the file name a single object is saved under."""
        return self.key.rstrip("/").rpartition("/")[2]

    def __str__(self) -> str:
        return f"{OSS_SCHEME}{self.bucket}/{self.key}"


def parse_oss_uri(uri: str) -> OssUri:
    """Split `oss://bucket/key`. The key is not validated here: external buckets name objects freely."""
    if not uri.startswith(OSS_SCHEME):
        raise InvalidKey(f"{uri!r} is not an oss:// address")
    bucket, _, key = uri[len(OSS_SCHEME):].partition("/")
    validate_bucket(bucket)
    if "\x00" in key:
        raise InvalidKey(f"{uri!r} contains a NUL character")
    return OssUri(bucket, key)
