"""The AccessKey and endpoint eascmd signs with, kept in `~/.eas/config` (mode 0600).

The file is INI text with one `[eas]` section, so several configurations can live side by side
and be picked with the global `-c <file>` (the seeds' `eascmd -c ~/.eas/shanghai2.conf …`).
"""
import configparser
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_ENDPOINT = "http://127.0.0.1:8000"
SECTION = "eas"


class ConfigError(Exception):
    """The configuration is missing or unusable; the message says how to fix it."""


@dataclass
class Credentials:
    access_key_id: str
    access_key_secret: str
    endpoint: str = DEFAULT_ENDPOINT
    region: str = ""


def default_path() -> Path:
    return Path.home() / ".eas" / "config"


def normalize_endpoint(value: str) -> str:
    """A base URL from either a URL or the seeds' bare host form (`pai-eas.cn-beijing.aliyuncs.com`,
    `127.0.0.1:8000`), which means plain http here, like the SDK configured with protocol http."""
    text = value.strip().rstrip("/")
    if "://" not in text:
        text = f"http://{text}"
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"endpoint {value!r} is not a host name or an http(s) URL")
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def load(path: Path) -> Credentials:
    parser = configparser.ConfigParser(interpolation=None)
    if not parser.read(path, encoding="utf-8") or not parser.has_section(SECTION):
        raise ConfigError(f"no configuration in {path}; run: eascmd config -i <AccessKeyID> -k <AccessKeySecret>")
    section = parser[SECTION]
    if not section.get("access_key_id") or not section.get("access_key_secret"):
        raise ConfigError(f"{path} has no AccessKey; run: eascmd config -i <AccessKeyID> -k <AccessKeySecret>")
    return Credentials(section["access_key_id"], section["access_key_secret"],
                       section.get("endpoint") or DEFAULT_ENDPOINT, section.get("region", ""))


def load_endpoint(path: Path) -> str:
    """The endpoint already configured in `path`, else the default (for `config` without `-e`)."""
    try:
        return load(path).endpoint
    except ConfigError:
        return DEFAULT_ENDPOINT


def save(path: Path, credentials: Credentials) -> None:
    """Write the file readable by its owner only, whatever the umask (it holds a secret)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    parser = configparser.ConfigParser(interpolation=None)
    parser[SECTION] = {
        "access_key_id": credentials.access_key_id,
        "access_key_secret": credentials.access_key_secret,
        "endpoint": credentials.endpoint,
    }
    if credentials.region:
        parser[SECTION]["region"] = credentials.region
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        parser.write(handle)
