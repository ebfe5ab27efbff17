"""The one source of "now" for lifecycles and billing, so tests can move time forward.

Tests replace `now` (e.g. with pytest's monkeypatch) instead of waiting for days to pass.
"""
from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()
