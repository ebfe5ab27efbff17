"""First-start set-up: the operator's main account and the credentials file `make up` prints.

`var/bootstrap.json` (mode 0600) is the one place the generated password and AccessKey secret
are written; running the bootstrap again never creates a second admin or changes them.
"""
import json
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from console.iam.accesskeys import create_access_key
from console.iam.accounts import create_main_account
from console.iam.models import AccessKey

ADMIN_USERNAME = "admin"


def bootstrap_file() -> Path:
    return Path(settings.DATA_DIR) / "bootstrap.json"


def write_private_json(path: Path, data: dict) -> None:
    """Write JSON readable by the owner only, replacing any previous file atomically."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")
    os.chmod(tmp, 0o600)
    tmp.replace(path)


@transaction.atomic
def bootstrap_admin() -> tuple[dict, bool]:
    """Ensure the admin account and its credentials file exist; return (credentials, created)."""
    path = bootstrap_file()
    credentials = json.loads(path.read_text()) if path.exists() else {}
    user = get_user_model().objects.filter(username=ADMIN_USERNAME).first()
    created = False
    if user is None:
        credentials["password"] = secrets.token_urlsafe(12)
        create_main_account(ADMIN_USERNAME, credentials["password"], is_operator=True)
        created = True
    elif not credentials.get("password"):
        # The credentials file was lost: issue a new password rather than leave the admin locked out.
        credentials["password"] = secrets.token_urlsafe(12)
        user.set_password(credentials["password"])
        user.save(update_fields=["password"])
    admin = get_user_model().objects.get(username=ADMIN_USERNAME)
    if not AccessKey.objects.filter(user=admin).exists():
        # The secret can be shown once only: this file is where it is shown.
        access_key, credentials["access_key_secret"] = create_access_key(admin)
        credentials["access_key_id"] = access_key.access_key_id
    credentials.update({
        "console_url": settings.EAS_CONSOLE_URL,
        "gateway_url": settings.EAS_GATEWAY_URL,
        "username": ADMIN_USERNAME,
    })
    credentials.setdefault("access_key_id", "")
    credentials.setdefault("access_key_secret", "")
    write_private_json(path, credentials)
    return credentials, created
