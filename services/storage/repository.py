"""Each tenant's model repository: bucket `eas-model-<region>`, key prefix `<account uid>/`.

Paths users give are relative to their own prefix, so one tenant cannot even name another's
objects through the API; `check_source_access` applies the same rule to `oss://` paths written
in a service description.
"""
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from services.storage import config
from services.storage.errors import ObjectNotFound
from services.storage.keys import parse_oss_uri, validate_key
from services.storage.store import EMBEDDED_BUCKET_PREFIX, StoredObject, embedded_store, is_embedded_bucket


def bucket_name(region: str | None = None) -> str:
    """`eas-model-shanghai` for region cn-shanghai, as `eascmd upload` prints it in the seeds."""
    return EMBEDDED_BUCKET_PREFIX + (region or settings.EAS_REGION).removeprefix("cn-")


def _prefix(account) -> str:
    return f"{account.uid}/"


def uri_of(account, path: str) -> str:
    return f"oss://{bucket_name()}/{_prefix(account)}{path}"


@dataclass(frozen=True)
class RepositoryObject:
    path: str
    uri: str
    size: int
    modified: datetime


@dataclass(frozen=True)
class RepositoryListing:
    objects: list[RepositoryObject]
    folders: list[str]
    truncated: bool
    next_marker: str


def _object(account, stored: StoredObject) -> RepositoryObject:
    path = stored.key[len(_prefix(account)):]
    return RepositoryObject(path, uri_of(account, path), stored.size,
                            datetime.fromtimestamp(stored.modified_ns / 1e9, tz=UTC))


def _key(account, path: str, *, folder: bool = False) -> str:
    return _prefix(account) + validate_key(path, folder=folder)


def upload(account, path: str, stream: BinaryIO, *, max_bytes: int | None = None) -> RepositoryObject:
    """Store `stream` at `path` in the tenant's repository (replacing an older object there)."""
    limit = config.limits().max_object_bytes if max_bytes is None else max_bytes
    return _object(account, embedded_store().put(bucket_name(), _key(account, path), stream, max_bytes=limit))


def commit_upload(account, path: str, staged: Path) -> RepositoryObject:
    """Move a complete staging file of the store (see `EmbeddedStore.staging_file`) to `path`."""
    return _object(account, embedded_store().commit(bucket_name(), _key(account, path), staged))


def list_objects(account, prefix: str = "", *, delimiter: str = "/", marker: str = "",
                 max_keys: int = 1000) -> RepositoryListing:
    if prefix:
        validate_key(prefix, folder=True)
    own = _prefix(account)
    listing = embedded_store().list_objects(bucket_name(), own + prefix, delimiter=delimiter,
                                    marker=own + marker if marker else "", max_keys=max_keys)
    return RepositoryListing(
        objects=[_object(account, obj) for obj in listing.objects],
        folders=[folder[len(own):] for folder in listing.folders],
        truncated=listing.truncated,
        next_marker=listing.next_marker[len(own):] if listing.next_marker else "",
    )


def delete(account, path: str) -> None:
    try:
        embedded_store().delete(bucket_name(), _key(account, path))
    except ObjectNotFound:
        raise ObjectNotFound(f"{path} does not exist in your model repository") from None


def check_source_access(account, uri: str | None) -> None:
    """Raise ObjectNotFound when `uri` points into the embedded store outside the tenant's own
    repository, exactly as if it did not exist (deployments call this for every model path)."""
    if not uri or not uri.startswith("oss://"):
        return
    oss = parse_oss_uri(uri)
    if not is_embedded_bucket(oss.bucket):
        return
    if oss.bucket != bucket_name() or not oss.key.startswith(_prefix(account)):
        raise ObjectNotFound(f"{uri} does not exist")
    validate_key(oss.key, folder=True)
