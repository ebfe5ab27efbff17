"""Storage settings, read when used (not at import) so tests and agents can change them."""
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

GiB = 1024 ** 3


@dataclass(frozen=True)
class Limits:
    """How much one fetch or upload may bring in, so a hostile source cannot fill the disk."""

    max_object_bytes: int
    max_extracted_bytes: int
    max_members: int
    timeout_seconds: float


def limits() -> Limits:
    return Limits(
        max_object_bytes=int(getattr(settings, "EAS_STORAGE_MAX_OBJECT_BYTES", 20 * GiB)),
        max_extracted_bytes=int(getattr(settings, "EAS_STORAGE_MAX_EXTRACTED_BYTES", 50 * GiB)),
        max_members=int(getattr(settings, "EAS_STORAGE_MAX_ARCHIVE_MEMBERS", 100_000)),
        timeout_seconds=float(getattr(settings, "EAS_STORAGE_TIMEOUT_SECONDS", 60)),
    )


def store_root() -> Path:
    """The embedded object store: `<data dir>/oss/<bucket>/<key>`."""
    return Path(settings.DATA_DIR) / "oss"


def cache_root() -> Path:
    """This machine's cache of fetched models."""
    return Path(getattr(settings, "EAS_STORAGE_CACHE_DIR", "") or Path(settings.DATA_DIR) / "cache")


def oss_credentials() -> tuple[str, str] | None:
    """AccessKey pair for external S3-compatible stores; None means anonymous requests."""
    key_id = getattr(settings, "EAS_OSS_ACCESS_KEY_ID", "")
    secret = getattr(settings, "EAS_OSS_ACCESS_KEY_SECRET", "")
    return (key_id, secret) if key_id and secret else None
