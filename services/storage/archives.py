"""Turning a downloaded object into a model directory, safely; and a folder into a tar stream.

The format is read from the content (magic bytes), with the name deciding only whether a file
is meant as an archive at all: `model.pt` stays a file even though TorchScript files are zip
archives, while `model.tar.gz`, `model.zip`, `model.bz2` or a name without extension are opened
as archives when their content is one.

Extraction refuses, naming the offending member: absolute paths, `..`, links that resolve
outside the target, writes through links, device files and FIFOs, and archives that expand past
the byte or member limit (counted while decompressing, not taken from headers). Everything is
extracted into a temporary sibling directory that is renamed into place only when complete.
"""
import bz2
import gzip
import lzma
import os
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from services.storage.config import Limits
from services.storage.errors import StorageError, TooLarge, UnsafeArchive
from services.storage.streams import CHUNK_BYTES, format_bytes

COMPRESSION_MAGIC = {b"\x1f\x8b": "gz", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz"}
DECOMPRESSORS = {"gz": gzip.open, "bz2": bz2.open, "xz": lzma.open}
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz",
                    ".zip", ".gz", ".gzip", ".bz2", ".xz")
COMPRESSED_FILE_SUFFIXES = (".gz", ".gzip", ".bz2", ".xz")
TAR_BLOCK = 512
MAX_LINK_TARGET_BYTES = 4096
DAMAGED = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile)


class DamagedArchive(StorageError):
    """An archive that cannot be read to the end (truncated, corrupt, or not what its name says)."""


@dataclass(frozen=True)
class Layout:
    """How a downloaded object becomes a directory.

    kind: "tar" or "zip" (members extracted), "compressed" (one file decompressed) or "file".
    filename: what a single file is saved as (None for archives, whose members name themselves).
    """

    kind: str
    compression: str | None = None
    filename: str | None = None

    @property
    def is_archive(self) -> bool:
        return self.kind in ("tar", "zip")


def _is_tar_header(block: bytes) -> bool:
    if len(block) < TAR_BLOCK:
        return False
    try:
        tarfile.TarInfo.frombuf(block[:TAR_BLOCK], "utf-8", "surrogateescape")
    except tarfile.HeaderError:
        return False
    return True


def _compression_of(head: bytes) -> str | None:
    return next((name for magic, name in COMPRESSION_MAGIC.items() if head.startswith(magic)), None)


def _means_archive(name: str) -> bool:
    """Whether the name leaves the content to decide: an archive suffix, or no extension at all."""
    lower = name.lower()
    return lower.endswith(ARCHIVE_SUFFIXES) or not re.search(r"\.[A-Za-z0-9]{1,8}$", lower)


def layout_of(path: Path, name: str) -> Layout:
    """Read the first bytes of `path` (saved from an object called `name`) to see what it is."""
    with open(path, "rb") as fh:
        head = fh.read(TAR_BLOCK)
    if not _means_archive(name):
        return Layout("file", filename=name)
    if head.startswith(ZIP_MAGIC):
        return Layout("zip")
    compression = _compression_of(head)
    if compression is not None:
        try:
            with DECOMPRESSORS[compression](path, "rb") as stream:
                inner = stream.read(TAR_BLOCK)
        except (*DAMAGED, OSError) as exc:
            raise DamagedArchive(f"{name} is not a valid {compression} stream: {exc}") from None
        if _is_tar_header(inner):
            return Layout("tar", compression)
        stem = name[: -len(next(s for s in COMPRESSED_FILE_SUFFIXES if name.lower().endswith(s)))] \
            if name.lower().endswith(COMPRESSED_FILE_SUFFIXES) else name
        return Layout("compressed", compression, filename=stem or "model")
    if _is_tar_header(head):
        return Layout("tar")
    if name.lower().endswith(ARCHIVE_SUFFIXES):
        raise DamagedArchive(f"{name} is named like an archive, but its content is not tar, gzip, bzip2, "
                             "xz or zip")
    return Layout("file", filename=name)


class _Budget:
    """What an extraction may still write: bytes and members, counted as they are produced."""

    def __init__(self, limits: Limits):
        self.max_bytes = limits.max_extracted_bytes
        self.max_members = limits.max_members
        self.bytes = 0
        self.members = 0

    def member(self, name: str) -> None:
        self.members += 1
        if self.members > self.max_members:
            raise TooLarge(f"archive has more than {self.max_members} members (at member {name!r})")

    def expect(self, declared: int, name: str) -> None:
        """Fail early on a member whose header already says it will not fit."""
        if self.bytes + declared > self.max_bytes:
            self._exceeded(name)

    def take(self, count: int, name: str) -> None:
        self.bytes += count
        if self.bytes > self.max_bytes:
            self._exceeded(name)

    def _exceeded(self, name: str):
        raise TooLarge(f"archive expands to more than {format_bytes(self.max_bytes)} "
                       f"(at member {name!r}); refusing it as a possible decompression bomb")


def _member_path(name: str) -> str | None:
    """The safe relative path of archive member `name`; None for the archive root itself."""
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise UnsafeArchive(f"archive member {name!r} has control characters in its name")
    if name.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", name):
        raise UnsafeArchive(f"archive member {name!r} has an absolute path")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchive(f"archive member {name!r} points outside the target directory (..)")
    return "/".join(parts) or None


class _Extraction:
    """Writes members under `root`, never following a link on the way to a member."""

    def __init__(self, root: Path, budget: _Budget):
        self.root = root
        self.real_root = os.path.realpath(root)
        self.budget = budget

    def _inside(self, path: str) -> bool:
        return path == self.real_root or path.startswith(self.real_root + os.sep)

    def _destination(self, rel: str, name: str) -> Path:
        """Where member `rel` goes, after creating its parent directories (which must be real ones)."""
        current = self.root
        for part in rel.split("/")[:-1]:
            current = current / part
            try:
                mode = os.lstat(current).st_mode
            except FileNotFoundError:
                os.mkdir(current, 0o755)
                continue
            if stat.S_ISLNK(mode):
                raise UnsafeArchive(f"archive member {name!r} would be written through the link "
                                    f"{current.relative_to(self.root)}")
            if not stat.S_ISDIR(mode):
                raise UnsafeArchive(f"archive member {name!r} needs {current.relative_to(self.root)} to be a "
                                    "directory, but it is a file")
        dest = current / rel.split("/")[-1]
        if os.path.lexists(dest):
            if dest.is_dir() and not dest.is_symlink():
                raise UnsafeArchive(f"archive member {name!r} would replace a directory")
            dest.unlink()
        return dest

    def directory(self, rel: str | None, name: str) -> None:
        if rel is None:
            return
        dest = self.root / rel
        if dest.is_dir() and not dest.is_symlink():
            return
        os.mkdir(self._destination(rel, name), 0o755)

    def file(self, rel: str | None, name: str, source, mode: int) -> None:
        if rel is None:
            raise UnsafeArchive(f"archive member {name!r} is a file without a name")
        dest = self._destination(rel, name)
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                     0o755 if mode & 0o111 else 0o644)
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK_BYTES):
                self.budget.take(len(chunk), name)
                out.write(chunk)

    def symlink(self, rel: str | None, name: str, target: str) -> None:
        if rel is None:
            raise UnsafeArchive(f"archive member {name!r} is a link without a name")
        if not target or target.startswith("/") or "\x00" in target:
            raise UnsafeArchive(f"archive member {name!r} is a symbolic link to the absolute path {target!r}")
        dest = self._destination(rel, name)
        resolved = os.path.realpath(os.path.join(os.path.realpath(dest.parent), target))
        if not self._inside(resolved):
            raise UnsafeArchive(f"archive member {name!r} is a symbolic link pointing outside the archive "
                                f"({target!r})")
        os.symlink(target, dest)

    def hardlink(self, rel: str | None, name: str, target: str) -> None:
        try:
            target_rel = _member_path(target)
        except UnsafeArchive:
            target_rel = None
        if rel is None or target_rel is None:
            raise UnsafeArchive(f"archive member {name!r} is a hard link to {target!r}, outside the archive")
        existing = self.root / target_rel
        for parent in [*reversed(Path(target_rel).parents[:-1]), Path(target_rel)]:
            if (self.root / parent).is_symlink():
                raise UnsafeArchive(f"archive member {name!r} is a hard link through the symbolic link {parent}")
        if not existing.is_file():
            raise UnsafeArchive(f"archive member {name!r} is a hard link to {target!r}, which is not a file "
                                "extracted before it")
        os.link(existing, self._destination(rel, name))

    def check_links(self) -> None:
        """Every link resolves inside the tree now that all members exist (chains of links too)."""
        for dirpath, dirnames, filenames in os.walk(self.root):
            for entry in dirnames + filenames:
                path = os.path.join(dirpath, entry)
                if os.path.islink(path) and not self._inside(os.path.realpath(path)):
                    rel = os.path.relpath(path, self.root)
                    raise UnsafeArchive(f"archive member {rel!r} is a symbolic link that resolves outside the "
                                        f"archive ({os.readlink(path)!r})")


def _extract_tar(source: Path, compression: str | None, extraction: _Extraction) -> None:
    budget = extraction.budget
    opener = DECOMPRESSORS[compression] if compression else open
    with opener(source, "rb") as stream:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                _extract_tar_member(tar, member, extraction)
        # Read to the end: a compressed stream's checksum comes last, so truncation shows only here.
        while chunk := stream.read(CHUNK_BYTES):
            budget.take(len(chunk), "(after the last member)")


def _extract_tar_member(tar: tarfile.TarFile, member: tarfile.TarInfo, extraction: _Extraction) -> None:
    extraction.budget.member(member.name)
    rel = _member_path(member.name)
    if member.isdir():
        extraction.directory(rel, member.name)
    elif member.isreg():
        extraction.budget.expect(member.size, member.name)
        with tar.extractfile(member) as data:
            extraction.file(rel, member.name, data, member.mode)
    elif member.issym():
        extraction.symlink(rel, member.name, member.linkname)
    elif member.islnk():
        extraction.hardlink(rel, member.name, member.linkname)
    else:
        kind = ("character device" if member.ischr() else "block device" if member.isblk()
                else "FIFO" if member.isfifo() else "special file")
        raise UnsafeArchive(f"archive member {member.name!r} is a {kind}; only files, directories "
                            "and links are allowed")


def _extract_zip(source: Path, extraction: _Extraction) -> None:
    budget = extraction.budget
    with zipfile.ZipFile(source) as archive:
        for info in archive.infolist():
            budget.member(info.filename)
            rel = _member_path(info.filename)
            file_type = stat.S_IFMT(info.external_attr >> 16)
            if info.is_dir() or file_type == stat.S_IFDIR:
                extraction.directory(rel, info.filename)
            elif file_type == stat.S_IFLNK:
                if info.file_size > MAX_LINK_TARGET_BYTES:
                    raise UnsafeArchive(f"archive member {info.filename!r} is a link with an oversized target")
                with archive.open(info) as data:
                    target = data.read(MAX_LINK_TARGET_BYTES + 1).decode(errors="surrogateescape")
                extraction.symlink(rel, info.filename, target)
            elif file_type in (0, stat.S_IFREG):
                budget.expect(info.file_size, info.filename)
                with archive.open(info) as data:
                    extraction.file(rel, info.filename, data, info.external_attr >> 16)
            else:
                raise UnsafeArchive(f"archive member {info.filename!r} is a device file, FIFO or socket; only "
                                    "files, directories and links are allowed")


def _decompress(source: Path, compression: str, dest: Path, budget: _Budget) -> None:
    with DECOMPRESSORS[compression](source, "rb") as data, open(dest, "xb") as out:
        while chunk := data.read(CHUNK_BYTES):
            budget.take(len(chunk), dest.name)
            out.write(chunk)


def unpack(source: Path, layout: Layout, target: Path, limits: Limits) -> None:
    """Create the directory `target` holding the archive's members, or the single file under
    `layout.filename`. `target` appears complete or not at all; if another process finished the
    same `target` first, that one is kept."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        extraction = _Extraction(partial, _Budget(limits))
        try:
            if layout.kind == "tar":
                _extract_tar(source, layout.compression, extraction)
            elif layout.kind == "zip":
                _extract_zip(source, extraction)
            elif layout.kind == "compressed":
                _decompress(source, layout.compression, partial / layout.filename, extraction.budget)
            else:
                shutil.copyfile(source, partial / layout.filename)
        except DAMAGED as exc:
            raise DamagedArchive(f"the archive is damaged or truncated: {exc}") from None
        except OSError as exc:
            if exc.errno is not None:
                raise
            # bz2 and lzma report corrupt data as OSError without an errno.
            raise DamagedArchive(f"the archive is damaged or truncated: {exc}") from None
        extraction.check_links()
        os.chmod(partial, 0o755)
        try:
            os.rename(partial, target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def tar_stream(members: Iterable[tuple[str, Path]]) -> Iterator[bytes]:
    """An uncompressed tar of (name in archive, file) pairs, produced while it is sent, so a
    folder of any size is served without building the archive first."""
    for name, path in members:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = st.st_size, int(st.st_mtime), 0o644
            yield info.tobuf(format=tarfile.PAX_FORMAT)
            remaining = st.st_size
            while remaining:
                chunk = fh.read(min(CHUNK_BYTES, remaining))
                if not chunk:
                    raise StorageError(f"{name} shrank while it was being sent")
                remaining -= len(chunk)
                yield chunk
        if st.st_size % TAR_BLOCK:
            yield b"\0" * (TAR_BLOCK - st.st_size % TAR_BLOCK)
    yield b"\0" * (2 * TAR_BLOCK)
