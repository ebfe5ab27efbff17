"""`fetch(uri)`: any model source as a directory on this machine, cached by content digest.

Sources, as a service description writes them (`model_path`, `processor_path`, …):

- `http(s)://…` archives or single files, including this console's presigned links;
- `oss://bucket/path` files or folders in an S3-compatible store named by `oss_endpoint`;
- `oss://eas-model-…/…` in the embedded store, read directly (on the control machine);
- local paths and `file://` URLs, for local test runs (a local folder is used in place).

Each source is revalidated (HEAD, stat or listing) on every fetch; an unchanged one is served
from the cache without downloading, and concurrent fetches of one source on this machine wait
for each other instead of racing.
"""
import hashlib
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from services.storage import archives, config, http
from services.storage.cache import CacheEntry, ModelCache, tree_digest
from services.storage.config import Limits
from services.storage.errors import InvalidKey, ObjectNotFound, TooLarge
from services.storage.keys import OssUri, parse_oss_uri, safe_filename, validate_key
from services.storage.presign import presigned_identity
from services.storage.s3 import RemoteObject, S3Store
from services.storage.store import StoredFolder, StoredObject, embedded_store, is_embedded_bucket
from services.storage.streams import LimitedWriter, chunks, format_bytes
from services.storage.validators import Validators

SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class FetchedModel:
    """A fetched source: `path` is a directory (single files are inside it under their own
    name); `digest` is the sha256 of what was downloaded (of the file tree for folders)."""

    path: Path
    digest: str
    source: str

    def entry(self, model_entry: str | None = None) -> Path:
        """What to load: `model_entry` inside the model; else the model's only top-level entry
        (the single file, or the one folder an archive wrapped everything in); else `path`."""
        if not model_entry:
            children = list(self.path.iterdir())
            return children[0] if len(children) == 1 else self.path
        relative = PurePosixPath(model_entry.lstrip("/"))
        resolved = Path(os.path.realpath(self.path / relative))
        root = os.path.realpath(self.path)
        if ".." in relative.parts or not (str(resolved) + os.sep).startswith(root + os.sep):
            raise InvalidKey(f"model_entry {model_entry!r} must be a path inside the model")
        if not resolved.exists():
            present = ", ".join(sorted(child.name for child in self.path.iterdir())[:10]) or "nothing"
            raise ObjectNotFound(f"model_entry {model_entry!r} is not in the model from {self.source} "
                                 f"(it holds: {present})")
        return self.path / relative


# What a download hands back: (digest, file name, validators seen while downloading).
Receiver = Callable[[BinaryIO], tuple[str, str, Validators | None]]


def _object_entry(cache: ModelCache, limits: Limits, receive: Receiver) -> tuple[CacheEntry, Validators | None]:
    """Download one object into the cache and unpack it into the tree named by its digest."""
    temp = cache.temp_file()
    try:
        with open(temp, "wb") as out:
            digest, name, validators = receive(out)
        layout = archives.layout_of(temp, safe_filename(name))
        target = cache.tree_path(digest, layout.filename)
        if not target.is_dir():
            archives.unpack(temp, layout, target, limits)
        return CacheEntry(target, digest), validators
    finally:
        temp.unlink(missing_ok=True)


def _tree_entry(cache: ModelCache, fill: Callable[[Path], None]) -> CacheEntry:
    """Download a folder into the cache as the tree named by the digest of its files."""
    temp = cache.temp_dir()
    try:
        fill(temp)
        digest = tree_digest(temp)
        target = cache.tree_path(digest)
        if not target.is_dir():
            os.chmod(temp, 0o755)
            try:
                os.rename(temp, target)
            except OSError:
                if not target.is_dir():
                    raise
        return CacheEntry(target, digest)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def _folder_plan(what: str, items: list[tuple[str, int]], limits: Limits) -> None:
    """Refuse a folder that is larger or has more files than one extraction may bring in."""
    if len(items) > limits.max_members:
        raise TooLarge(f"{what} has more than {limits.max_members} files")
    total = sum(size for _, size in items)
    if total > limits.max_extracted_bytes:
        raise TooLarge(f"{what} holds {format_bytes(total)}, over the limit of "
                       f"{format_bytes(limits.max_extracted_bytes)}")
    for rel, _ in items:
        validate_key(rel)


def _listing_validators(items: list[tuple[str, str, int]]) -> Validators:
    listing = hashlib.sha256()
    for key, etag, size in items:
        listing.update(f"{key}\0{etag}\0{size}\n".encode())
    return Validators(etag=f'"{listing.hexdigest()[:32]}"')


class HttpSource:
    def __init__(self, url: str, limits: Limits):
        self.url, self.limits = url, limits
        self.identity = presigned_identity(url) or url
        self.label = http.redact(url)

    def probe(self) -> Validators | None:
        return http.probe(self.url, timeout=self.limits.timeout_seconds)

    def materialize(self, cache: ModelCache) -> tuple[CacheEntry, Validators | None]:
        def receive(out):
            download = http.download(self.url, out, max_bytes=self.limits.max_object_bytes,
                                     timeout=self.limits.timeout_seconds)
            return download.digest, download.filename, download.validators

        return _object_entry(cache, self.limits, receive)


class S3Source:
    """An object, or a folder (a key prefix, fetched recursively), in an S3-compatible store."""

    def __init__(self, uri: OssUri, oss_endpoint: str, limits: Limits):
        self.uri, self.limits = uri, limits
        self.store = S3Store(oss_endpoint, timeout=limits.timeout_seconds)
        self.identity = f"s3:{self.store.endpoint.url}/{uri.bucket}/{uri.key}"
        self.label = f"{uri} at {self.store.endpoint.url}"
        self._resolved: RemoteObject | tuple[str, list[RemoteObject]] | None = None

    def _resolve(self) -> RemoteObject | tuple[str, list[RemoteObject]]:
        if self._resolved is None:
            found = None if self.uri.is_folder else self.store.head(self.uri.bucket, self.uri.key)
            if found is None:
                prefix = self.uri.key.rstrip("/") + "/" if self.uri.key else ""
                objects = self.store.list(self.uri.bucket, prefix)
                if not objects:
                    raise ObjectNotFound(f"{self.label}: no such object or folder")
                found = (prefix, objects)
            self._resolved = found
        return self._resolved

    def probe(self) -> Validators:
        found = self._resolve()
        if isinstance(found, RemoteObject):
            return found.validators
        return _listing_validators([(obj.key, obj.etag, obj.size) for obj in found[1]])

    def materialize(self, cache: ModelCache) -> tuple[CacheEntry, Validators | None]:
        found = self._resolve()
        if isinstance(found, RemoteObject):
            def receive(out):
                writer = self.store.download(self.uri.bucket, found.key, out, max_bytes=self.limits.max_object_bytes)
                return writer.digest, self.uri.name, found.validators

            return _object_entry(cache, self.limits, receive)
        prefix, objects = found
        _folder_plan(self.label, [(obj.key[len(prefix):], obj.size) for obj in objects], self.limits)

        def fill(root: Path) -> None:
            budget = self.limits.max_extracted_bytes
            for obj in objects:
                dest = root / obj.key[len(prefix):]
                dest.parent.mkdir(parents=True, exist_ok=True)
                with open(dest, "xb") as out:
                    budget -= self.store.download(self.uri.bucket, obj.key, out, max_bytes=budget).size

        return _tree_entry(cache, fill), None


class EmbeddedSource:
    """An object or folder of the embedded store, read from this machine's disk."""

    def __init__(self, uri: OssUri, limits: Limits):
        self.uri, self.limits = uri, limits
        self.identity = self.label = f"embedded:{uri}"
        self._resolved: StoredObject | StoredFolder | None = None

    def _resolve(self) -> StoredObject | StoredFolder:
        if self._resolved is None:
            try:
                self._resolved = embedded_store().resolve(self.uri)
            except ObjectNotFound:
                raise ObjectNotFound(f"{self.uri} does not exist in the embedded store on this machine") from None
        return self._resolved

    def probe(self) -> Validators:
        return self._resolve().validators

    def materialize(self, cache: ModelCache) -> tuple[CacheEntry, Validators | None]:
        found = self._resolve()
        if isinstance(found, StoredObject):
            return _object_entry(cache, self.limits, _file_receiver(found.path, self.uri.name, self.limits))
        _folder_plan(str(self.uri), [(rel, path.stat().st_size) for rel, path in found.members()], self.limits)

        def fill(root: Path) -> None:
            for rel, path in found.members():
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, root / rel)

        return _tree_entry(cache, fill), None


class LocalFileSource:
    def __init__(self, path: Path, limits: Limits):
        self.path, self.limits = path, limits
        self.identity = f"file:{path}"
        self.label = str(path)

    def probe(self) -> Validators:
        st = self.path.stat()
        return Validators(etag=f"{st.st_size:x}-{st.st_mtime_ns:x}", size=st.st_size)

    def materialize(self, cache: ModelCache) -> tuple[CacheEntry, Validators | None]:
        return _object_entry(cache, self.limits, _file_receiver(self.path, self.path.name, self.limits))


def _file_receiver(path: Path, name: str, limits: Limits) -> Receiver:
    def receive(out):
        with open(path, "rb") as source:
            writer = LimitedWriter(out, limits.max_object_bytes, str(name)).write_all(chunks(source))
        return writer.digest, name, None

    return receive


def _local_path(uri: str) -> Path | None:
    if uri.startswith("file://"):
        return Path(unquote(urlsplit(uri).path))
    if SCHEME_RE.match(uri):
        return None
    return Path(uri).expanduser().resolve()


def _source(uri: str, oss_endpoint: str | None, limits: Limits):
    if uri.startswith(("http://", "https://")):
        return HttpSource(uri, limits)
    if uri.startswith("oss://"):
        oss = parse_oss_uri(uri)
        if is_embedded_bucket(oss.bucket):
            return EmbeddedSource(oss, limits)
        if not oss_endpoint:
            raise InvalidKey(f"{uri} is not in this platform's model repository, so oss_endpoint is required "
                             "(e.g. oss-cn-beijing.aliyuncs.com)")
        return S3Source(oss, oss_endpoint, limits)
    path = _local_path(uri)
    if path is None:
        raise InvalidKey(f"{http.redact(uri)} is not a supported source; use http(s)://, oss:// or a local path")
    if not path.is_file():
        raise ObjectNotFound(f"{uri} does not exist on this machine")
    return LocalFileSource(path, limits)


def fetch(source_uri: str, *, oss_endpoint: str | None = None, dest_root: str | Path | None = None) -> FetchedModel:
    """The model files of `source_uri` as a local directory (see the module docstring).

    `dest_root` overrides the cache directory (default EAS_STORAGE_CACHE_DIR, `<data dir>/cache`).
    Raises a StorageError subclass with a message fit to show the user.
    """
    limits = config.limits()
    local = _local_path(source_uri)
    if local is not None and local.is_dir():
        return FetchedModel(local, tree_digest(local), source_uri)
    source = _source(source_uri, oss_endpoint, limits)
    cache = ModelCache(Path(dest_root) if dest_root else config.cache_root())
    with cache.locked(source.identity):
        validators = source.probe()
        entry = cache.lookup(source.identity, validators)
        if entry is None:
            entry, observed = source.materialize(cache)
            cache.remember(source.identity, validators or observed, entry, source.label)
    return FetchedModel(entry.path, entry.digest, source_uri)
