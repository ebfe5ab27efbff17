"""Copying bytes with a size limit and a running sha256, shared by uploads and every download."""
import hashlib
from collections.abc import Iterator
from typing import BinaryIO

from services.storage.errors import TooLarge

CHUNK_BYTES = 1 << 20


def format_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def chunks(stream: BinaryIO, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    while chunk := stream.read(size):
        yield chunk


class LimitedWriter:
    """Writes to `out` while counting and hashing, and fails as soon as `limit` bytes are passed,
    so an oversized body is stopped while it streams, whatever its headers claimed."""

    def __init__(self, out: BinaryIO, limit: int, what: str):
        self.out = out
        self.limit = limit
        self.what = what
        self.size = 0
        self._sha256 = hashlib.sha256()

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise TooLarge(f"{self.what} is larger than the limit of {format_bytes(self.limit)}")
        self._sha256.update(chunk)
        self.out.write(chunk)

    def write_all(self, pieces) -> "LimitedWriter":
        for piece in pieces:
            self.write(piece)
        return self

    @property
    def digest(self) -> str:
        return f"sha256:{self._sha256.hexdigest()}"
