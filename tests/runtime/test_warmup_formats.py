"""Warm-up file formats: TFRecord (read back what TensorFlow writes), text lines, one-request .bin."""

from __future__ import annotations

import pytest

from services.runtime.tfrecord import parse_records, write_records
from services.runtime.warmup import WarmUpError, read_warm_up_requests


def test_tfrecord_written_by_tensorflow_is_read(tmp_path):
    import tensorflow as tf

    path = tmp_path / "requests.tfrecord"
    records = [b"first", b"", b"\x00" * 1000]
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records:
            writer.write(record)
    assert read_warm_up_requests(path) == records
    assert write_records(records) == path.read_bytes()


def test_corrupt_tfrecord_is_treated_as_one_request(tmp_path):
    data = bytearray(write_records([b"payload"]))
    data[-1] ^= 0xFF
    assert parse_records(bytes(data)) is None
    path = tmp_path / "warm_up.bin"
    path.write_bytes(bytes(data))
    assert read_warm_up_requests(path) == [bytes(data)]


def test_text_file_is_one_request_per_line(tmp_path):
    path = tmp_path / "warm_up.txt"
    path.write_text('[{"x": 1}]\n\n[{"x": 2}]\n')
    assert read_warm_up_requests(path) == [b'[{"x": 1}]', b'[{"x": 2}]']


def test_unusable_files_are_errors(tmp_path):
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    with pytest.raises(WarmUpError, match="is empty"):
        read_warm_up_requests(empty)
    with pytest.raises(WarmUpError, match="cannot read"):
        read_warm_up_requests(tmp_path / "missing.bin")
