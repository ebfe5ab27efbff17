"""One module per family of eascmd commands; each `register`s its sub-commands on the parser."""
import json
from pathlib import Path


class UsageError(Exception):
    """A command was given arguments it cannot use (exit status 2, like argparse's own errors)."""


def read_json_file(path: str) -> tuple[str, dict]:
    """(text, object) of a JSON file the user named, with a message naming the file when it is bad."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} must contain a JSON object")
    return text, data


def print_request_id(response: dict) -> None:
    print(f"[RequestId]: {response.get('RequestId', '')}")
