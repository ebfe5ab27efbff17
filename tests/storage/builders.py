"""Real archives for the storage tests, built with tarfile/zipfile (and zlib for the bombs)."""
import io
import stat
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

MiB = 1 << 20


def tar_bytes(members: list[tarfile.TarInfo | tuple[str, bytes]], mode: str = "w") -> bytes:
    """A tar (mode "w", "w:gz", "w:bz2", "w:xz") of (name, content) files and ready TarInfos."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
            else:
                name, content = member
                info = tarfile.TarInfo(name)
                info.size = len(content)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def special(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def zip_bytes(members: list[tuple[str, bytes]], symlinks: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members:
            archive.writestr(name, content)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def gzip_of_zeros(size: int, tar_member: str | None = None) -> bytes:
    """A valid gzip stream of `size` zero bytes (inside a tar member when `tar_member` is given),
    built in well under a second: after a full flush, deflate's output for each further MiB of
    zeros is identical, so one compressed MiB is repeated instead of compressing a gigabyte."""
    assert size % MiB == 0
    header = b""
    if tar_member:
        info = tarfile.TarInfo(tar_member)
        info.size = size
        header = info.tobuf(format=tarfile.GNU_FORMAT)
    trailer_zeros = 2 * 512 if tar_member else 0
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(header) + compressor.flush(zlib.Z_FULL_FLUSH)
    one_mib = compressor.compress(bytes(MiB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.compress(bytes(trailer_zeros)) + compressor.flush(zlib.Z_FINISH)
    crc = zlib.crc32(header)
    zero_mib_crc_input = bytes(MiB)
    for _ in range(size // MiB):
        crc = zlib.crc32(zero_mib_crc_input, crc)
    crc = zlib.crc32(bytes(trailer_zeros), crc)
    total = len(header) + size + trailer_zeros
    gzip_header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return gzip_header + head + one_mib * (size // MiB) + tail + struct.pack("<II", crc, total & 0xFFFFFFFF)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
