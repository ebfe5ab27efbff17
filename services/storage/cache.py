"""This machine's cache of fetched models, keyed by content digest.

Layout under the cache root::

    models/<sha256>[-<file name>]/  extracted trees, never modified once renamed into place
    index/<id>.json                 source → its validators and tree, to skip unchanged downloads
    locks/<id>.lock                 one flock per source: fetches of it on this machine queue up
    tmp/                            downloads and extractions in progress

Trees are named by the sha256 of what was downloaded (an archive's tree depends only on its
bytes; a single file's also on the name it is saved under), so two sources with the same
content share one tree, and a changed source can never be served from an old tree.
"""
import fcntl
import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from services.storage.validators import Validators


@dataclass(frozen=True)
class CacheEntry:
    path: Path
    digest: str


def tree_digest(root: Path) -> str:
    """sha256 over the relative path and content of every file (and the target of every link)."""
    manifest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                manifest.update(f"{rel}\0->{os.readlink(path)}\n".encode())
                continue
            content = hashlib.sha256()
            with open(path, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    content.update(chunk)
            manifest.update(f"{rel}\0{content.hexdigest()}\n".encode())
    return f"sha256:{manifest.hexdigest()}"


class ModelCache:
    def __init__(self, root: Path):
        self.root = Path(root)
        for sub in ("models", "index", "locks", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    @staticmethod
    def _id(identity: str) -> str:
        return hashlib.sha256(identity.encode()).hexdigest()

    @contextmanager
    def locked(self, identity: str):
        """Hold this machine's lock for one source. flock locks belong to the open file, so
        threads of one process exclude each other as well as separate processes do."""
        fd = os.open(self.root / "locks" / f"{self._id(identity)}.lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def tree_path(self, digest: str, filename: str | None = None) -> Path:
        name = digest.removeprefix("sha256:")
        return self.root / "models" / (f"{name}-{filename}" if filename else name)

    def lookup(self, identity: str, validators: Validators | None) -> CacheEntry | None:
        """The tree fetched last time from `identity`, if the source still has the same version."""
        if validators is None or not validators.usable:
            return None
        try:
            record = json.loads((self.root / "index" / f"{self._id(identity)}.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        path = self.root / "models" / record["tree"]
        if record["validators"] != validators.as_dict() or not path.is_dir():
            return None
        return CacheEntry(path, record["digest"])

    def remember(self, identity: str, validators: Validators | None, entry: CacheEntry, label: str) -> None:
        """Record that `identity` at `validators` is `entry`; `label` says which source it was, for people."""
        if validators is None or not validators.usable:
            return
        record = {"source": label, "validators": validators.as_dict(), "digest": entry.digest,
                  "tree": entry.path.name}
        index = self.root / "index" / f"{self._id(identity)}.json"
        fd, temp = tempfile.mkstemp(dir=self.root / "tmp", prefix="index-")
        with os.fdopen(fd, "w") as fh:
            json.dump(record, fh)
        os.replace(temp, index)

    def temp_file(self) -> Path:
        fd, name = tempfile.mkstemp(dir=self.root / "tmp", prefix="download-")
        os.close(fd)
        return Path(name)

    def temp_dir(self) -> Path:
        return Path(tempfile.mkdtemp(dir=self.root / "tmp", prefix="folder-"))
