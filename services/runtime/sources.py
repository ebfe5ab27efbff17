"""Turn model/processor locations into local files the processors can open.

The instance server only reads local paths (plain or `file://`); fetching http(s)/oss sources is
the storage module's job, done before the instance starts. Local archives (what `eascmd test`
users point at) are unpacked here with the standard library's safe extraction rules.
"""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlparse

from .config import ConfigError

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz2", ".bz2", ".zip")
MAX_EXTRACTED_BYTES = 32 * 1024**3


def local_path(field_name: str, value: str, base_dir: str) -> Path:
    """Resolve a local path or file:// URL; reject remote schemes with a message saying why."""
    parsed = urlparse(value)
    if parsed.scheme == "file":
        path = Path(unquote(parsed.path))
    elif parsed.scheme and len(parsed.scheme) > 1:
        raise ConfigError(
            f"{field_name}: {parsed.scheme}:// sources must be downloaded by the platform's storage "
            f"module first; the instance server only reads local paths or file:// URLs (got {value})"
        )
    else:
        path = Path(value)
    if not path.is_absolute():
        path = Path(base_dir) / path
    if not path.exists():
        raise ConfigError(f"{field_name}: {path} does not exist")
    return path.resolve()


def is_archive(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES)


def materialize(field_name: str, path: Path, workdir: Path) -> Path:
    """Return a directory or file ready to load; archives are extracted under `workdir`."""
    if not is_archive(path):
        return path
    target = workdir / field_name
    target.mkdir(parents=True, exist_ok=False)
    if path.name.lower().endswith(".zip"):
        _extract_zip(field_name, path, target)
    else:
        _extract_tar(field_name, path, target)
    return target


def _extract_tar(field_name: str, path: Path, target: Path) -> None:
    try:
        with tarfile.open(path) as archive:
            members = archive.getmembers()
            _check_size(field_name, path, sum(member.size for member in members))
            archive.extractall(target, members=members, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise ConfigError(f"{field_name}: cannot extract {path.name}: {exc}") from exc


def _extract_zip(field_name: str, path: Path, target: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            _check_size(field_name, path, sum(info.file_size for info in infos))
            root = target.resolve()
            for info in infos:
                destination = (root / info.filename).resolve()
                if not destination.is_relative_to(root):
                    raise ConfigError(f"{field_name}: {path.name} contains an unsafe path {info.filename!r}")
            archive.extractall(target)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ConfigError(f"{field_name}: cannot extract {path.name}: {exc}") from exc


def _check_size(field_name: str, path: Path, total: int) -> None:
    if total > MAX_EXTRACTED_BYTES:
        raise ConfigError(f"{field_name}: {path.name} unpacks to {total} bytes, over the {MAX_EXTRACTED_BYTES} limit")


def entry_path(base: Path, entry: str | None) -> Path:
    """`model_entry`/`processor_entry` are relative to the (extracted) source; absent means the source."""
    if not entry:
        return base
    candidate = Path(entry)
    if not candidate.is_absolute():
        candidate = (base if base.is_dir() else base.parent) / candidate
    return candidate

