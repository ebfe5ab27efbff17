"""The embedded object store: `oss://<bucket>/<key>` kept as `<data dir>/oss/<bucket>/<key>`.

It is the default model store of a single installation: uploads land here and the control
machine serves them to node agents through presigned URLs. Writes go to a staging file inside
the store and are renamed into place, so a reader never sees a half-written object.
"""
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.utils.http import http_date

from services.storage import config
from services.storage.errors import InvalidKey, KeyConflict, ObjectNotFound
from services.storage.keys import OssUri, validate_bucket, validate_key
from services.storage.streams import LimitedWriter, chunks
from services.storage.validators import Validators

EMBEDDED_BUCKET_PREFIX = "eas-model-"
# Bucket names cannot start with '.', so staging files never collide with a bucket.
STAGING_DIR = ".staging"
MAX_LIST_KEYS = 1000


def is_embedded_bucket(bucket: str) -> bool:
    """Model repositories (`eas-model-<region>`) live in the embedded store; other buckets are external."""
    return bucket.startswith(EMBEDDED_BUCKET_PREFIX)


@dataclass(frozen=True)
class StoredObject:
    key: str
    path: Path
    size: int
    modified_ns: int

    @property
    def validators(self) -> Validators:
        return Validators(etag=f'"{self.size:x}-{self.modified_ns:x}"',
                          last_modified=http_date(self.modified_ns / 1e9), size=self.size)


@dataclass(frozen=True)
class StoredFolder:
    """Every object under a key prefix ending with '/'."""

    prefix: str
    objects: list[StoredObject]

    @property
    def validators(self) -> Validators:
        listing = hashlib.sha256()
        for obj in self.objects:
            listing.update(f"{obj.key}\0{obj.size}\0{obj.modified_ns}\n".encode())
        return Validators(etag=f'"{listing.hexdigest()[:32]}"')

    def members(self) -> list[tuple[str, Path]]:
        """(path inside the folder, file) of each object, for a tar stream of the folder."""
        return [(obj.key[len(self.prefix):], obj.path) for obj in self.objects]


@dataclass(frozen=True)
class Listing:
    objects: list[StoredObject]
    folders: list[str]
    truncated: bool
    next_marker: str


class EmbeddedStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def path_of(self, bucket: str, key: str) -> Path:
        return self.root / validate_bucket(bucket) / validate_key(key)

    def staging_file(self) -> tuple[int, Path]:
        """An open (fd, path) inside the store, from which `commit` renames into place."""
        staging = self.root / STAGING_DIR
        staging.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=staging, prefix="upload-")
        return fd, Path(name)

    def put(self, bucket: str, key: str, stream: BinaryIO, *, max_bytes: int) -> StoredObject:
        """Store everything `stream` yields as the object `key`, failing past `max_bytes`."""
        self.path_of(bucket, key)
        fd, staged = self.staging_file()
        try:
            with os.fdopen(fd, "wb") as out:
                LimitedWriter(out, max_bytes, f"the upload of {key}").write_all(chunks(stream))
            return self.commit(bucket, key, staged)
        finally:
            staged.unlink(missing_ok=True)

    def commit(self, bucket: str, key: str, staged: Path) -> StoredObject:
        """Make the complete staging file `staged` the object `key`, replacing an older version."""
        path = self.path_of(bucket, key)
        bucket_dir = self.root / bucket
        parent = bucket_dir
        for segment in key.split("/")[:-1]:
            parent = parent / segment
            if parent.is_file():
                raise KeyConflict(f"{parent.relative_to(bucket_dir)} is a file, so it cannot hold {key}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise KeyConflict(f"a file on the way to {key} is in the way") from None
        if path.is_dir():
            raise KeyConflict(f"{key} is a folder; choose another name for the file")
        os.chmod(staged, 0o644)
        os.replace(staged, path)
        return self.stat(bucket, key)

    def stat(self, bucket: str, key: str) -> StoredObject:
        path = self.path_of(bucket, key)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound(f"oss://{bucket}/{key} does not exist") from None
        if not path.is_file():
            raise ObjectNotFound(f"oss://{bucket}/{key} is a folder, not an object")
        return StoredObject(key, path, st.st_size, st.st_mtime_ns)

    def folder(self, bucket: str, prefix: str) -> StoredFolder:
        """The non-empty folder `prefix` (ending with '/')."""
        validate_key(prefix, folder=True)
        objects = self._objects_under(bucket, prefix)
        if not objects:
            raise ObjectNotFound(f"oss://{bucket}/{prefix} is empty or does not exist")
        return StoredFolder(prefix, objects)

    def resolve(self, uri: OssUri) -> StoredObject | StoredFolder:
        """What `uri` names: an object, or a folder when the key ends with '/' or names a directory."""
        if not uri.key:
            raise InvalidKey(f"{uri} names a whole bucket; name an object or a folder inside it")
        if uri.is_folder:
            return self.folder(uri.bucket, uri.key)
        if self.path_of(uri.bucket, uri.key).is_dir():
            return self.folder(uri.bucket, uri.key + "/")
        return self.stat(uri.bucket, uri.key)

    def list_objects(self, bucket: str, prefix: str = "", *, delimiter: str = "/", marker: str = "",
             max_keys: int = MAX_LIST_KEYS) -> Listing:
        """Objects whose key starts with `prefix`, in key order, S3-style: with a delimiter,
        keys continuing past it are rolled up into folders (`a/b/`)."""
        if prefix:
            validate_key(prefix, folder=True)
        objects, folders = [], []
        last = ""
        for obj in self._objects_under(bucket, prefix.rpartition("/")[0] + "/" if "/" in prefix else ""):
            if not obj.key.startswith(prefix) or obj.key <= marker:
                continue
            rest = obj.key[len(prefix):]
            folder = prefix + rest.split(delimiter, 1)[0] + delimiter if delimiter and delimiter in rest else None
            if folder is not None and (folder <= marker or (folders and folders[-1] == folder)):
                continue
            if len(objects) + len(folders) == max_keys:
                return Listing(objects, folders, truncated=True, next_marker=last)
            if folder is None:
                objects.append(obj)
                last = obj.key
            else:
                folders.append(folder)
                last = folder
        return Listing(objects, folders, truncated=False, next_marker="")

    def delete(self, bucket: str, key: str) -> None:
        """Remove the object `key` and the folders it leaves empty."""
        path = self.stat(bucket, key).path
        path.unlink()
        bucket_dir = self.root / bucket
        parent = path.parent
        while parent != bucket_dir:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def _objects_under(self, bucket: str, folder: str) -> list[StoredObject]:
        """Every object under the folder prefix `folder` ('' for the whole bucket), in key order."""
        bucket_dir = self.root / validate_bucket(bucket)
        objects = []
        for dirpath, _dirnames, filenames in os.walk(bucket_dir / folder):
            for name in filenames:
                path = Path(dirpath) / name
                st = path.lstat()
                objects.append(StoredObject(path.relative_to(bucket_dir).as_posix(), path, st.st_size, st.st_mtime_ns))
        return sorted(objects, key=lambda obj: obj.key)


def embedded_store() -> EmbeddedStore:
    return EmbeddedStore(config.store_root())
