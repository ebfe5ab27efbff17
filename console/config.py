"""Platform configuration read from the environment, with embedded defaults.

Everything a process needs to find its peers is derived here once, so that the web server,
gateway, workers, agents and the supervisor agree on the same addresses.
"""
import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

DEFAULT_WEB_PORT = 8000
DEFAULT_GATEWAY_PORT = 8080
DEFAULT_EMBEDDED_REDIS_PORT = 6390


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def data_dir() -> Path:
    """Where the embedded database, secrets, logs and model files live."""
    path = Path(env("EAS_DATA_DIR") or BASE_DIR / "var").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def web_port() -> int:
    return int(env("EAS_WEB_PORT", str(DEFAULT_WEB_PORT)))


def gateway_port() -> int:
    return int(env("EAS_GATEWAY_PORT", str(DEFAULT_GATEWAY_PORT)))


def embedded_redis_port() -> int:
    return int(env("EAS_EMBEDDED_REDIS_PORT", str(DEFAULT_EMBEDDED_REDIS_PORT)))


def redis_url() -> str:
    """REDIS_URL, or the private Redis that `make up` starts on loopback."""
    return env("REDIS_URL") or f"redis://127.0.0.1:{embedded_redis_port()}/0"


def uses_embedded_redis() -> bool:
    return not env("REDIS_URL")


def broker_url() -> str:
    return env("CELERY_BROKER_URL") or redis_url()


def database_url() -> str:
    return env("DATABASE_URL") or f"sqlite:///{data_dir() / 'eas.sqlite3'}"


def persistent_secret(env_name: str, file_name: str) -> str:
    """The value of `env_name`, or a random one generated once and kept (mode 0600) in the data dir."""
    if env(env_name):
        return env(env_name)
    path = data_dir() / file_name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def secret_key() -> str:
    return persistent_secret("SECRET_KEY", "secret_key")


def join_token() -> str:
    """Shared secret node agents present to join the fleet."""
    return persistent_secret("EAS_JOIN_TOKEN", "join_token")


def public_host() -> str:
    """Host name used when printing URLs for people and clients."""
    return env("EAS_PUBLIC_HOST", "127.0.0.1")


def console_url() -> str:
    return env("EAS_CONSOLE_URL") or f"http://{public_host()}:{web_port()}"


def gateway_url() -> str:
    return env("EAS_GATEWAY_URL") or f"http://{public_host()}:{gateway_port()}"
