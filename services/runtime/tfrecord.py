"""Reader for TFRecord files, the container of TF Serving warm-up data (`tf_serving_warmup_requests`).

Each record is `uint64 length | uint32 masked crc32c(length) | data | uint32 masked crc32c(data)`,
little-endian. Checking the checksums is also how a TFRecord file is told apart from a plain
one-request `.bin` file.
"""

from __future__ import annotations

import struct


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def parse_records(data: bytes) -> list[bytes] | None:
    """All records of a TFRecord file, or None when `data` is not a well-formed TFRecord file."""
    records = []
    offset = 0
    while offset < len(data):
        if offset + 12 > len(data):
            return None
        header = data[offset : offset + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[offset + 8 : offset + 12])
        if masked_crc32c(header) != length_crc or offset + 16 + length > len(data):
            return None
        record = data[offset + 12 : offset + 12 + length]
        (data_crc,) = struct.unpack("<I", data[offset + 12 + length : offset + 16 + length])
        if masked_crc32c(record) != data_crc:
            return None
        records.append(record)
        offset += 16 + length
    return records or None


def write_records(records: list[bytes]) -> bytes:
    """Serialize records as a TFRecord file (for tools and tests that build warm-up files)."""
    chunks = []
    for record in records:
        header = struct.pack("<Q", len(record))
        chunks += [header, struct.pack("<I", masked_crc32c(header)), record, struct.pack("<I", masked_crc32c(record))]
    return b"".join(chunks)
