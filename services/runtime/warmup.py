"""Warm-up request files: what an instance replays before it reports ready.

Accepted formats (detected from the content, then the name):
  * TFRecord (TF Serving's `tf_serving_warmup_requests`): one request per record; records may be
    TF Serving `PredictionLog`s (TF processors convert them) or raw request bodies;
  * `.txt`: one request body per non-empty line (string-input services), as in EAS;
  * anything else (EAS's `.bin`, written with `req.to_string()` of the SDK): the whole file is one
    request body.
"""

from __future__ import annotations

from pathlib import Path

from .tfrecord import parse_records

MAX_WARM_UP_REQUESTS = 1000


class WarmUpError(ValueError):
    """The warm-up file cannot be used; the instance does not become ready."""


def read_warm_up_requests(path: Path) -> list[bytes]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WarmUpError(f"warm_up_data_path: cannot read {path}: {exc.strerror}") from exc
    if not data:
        raise WarmUpError(f"warm_up_data_path: {path} is empty")
    records = parse_records(data)
    if records is None:
        if path.suffix.lower() == ".txt":
            records = [line for line in data.splitlines() if line.strip()]
        else:
            records = [data]
    if len(records) > MAX_WARM_UP_REQUESTS:
        raise WarmUpError(
            f"warm_up_data_path: {path} holds {len(records)} requests, more than {MAX_WARM_UP_REQUESTS}"
        )
    return records
