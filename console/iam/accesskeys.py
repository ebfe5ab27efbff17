"""AccessKey pairs: issuing, encrypting secrets at rest, and looking them up for signatures.

Secrets are Fernet-encrypted with a key derived from `settings.EAS_SECRET_ENCRYPTION_KEY` (or
SECRET_KEY when that is empty). The plaintext is returned exactly once, by `create_access_key`;
nothing here logs a secret.
"""
import base64
import hashlib
import secrets
import string
from datetime import timedelta

from cryptography.fernet import Fernet
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from console.iam.errors import Conflict
from console.iam.models import AccessKey, Account, RamUser

MAX_KEYS_PER_USER = 2
ID_PREFIX = "LTAI"
ALPHANUMERIC = string.ascii_letters + string.digits
# Writing last-used time on every signed call would turn reads into writes; a minute is precise enough.
LAST_USED_GRANULARITY = timedelta(seconds=60)


def _fernet() -> Fernet:
    material = getattr(settings, "EAS_SECRET_ENCRYPTION_KEY", "") or settings.SECRET_KEY
    key = hashlib.sha256(b"eas-access-key-secrets:" + material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(access_key: AccessKey) -> str:
    return _fernet().decrypt(access_key.secret_ciphertext.encode()).decode()


def _random(n: int) -> str:
    return "".join(secrets.choice(ALPHANUMERIC) for _ in range(n))


def owner_of(principal_owner) -> tuple[Account, object]:
    """(account, Django user) of a main account, a RAM user or a Django user of either."""
    if isinstance(principal_owner, Account):
        return principal_owner, principal_owner.owner
    if isinstance(principal_owner, RamUser):
        return principal_owner.account, principal_owner.user
    if isinstance(principal_owner, get_user_model()):
        account = getattr(principal_owner, "main_account", None)
        if account is not None:
            return account, principal_owner
        ram_user = getattr(principal_owner, "ram_user", None)
        if ram_user is not None:
            return ram_user.account, principal_owner
    raise TypeError(f"{principal_owner!r} is not a main account, RAM user or their Django user")


@transaction.atomic
def create_access_key(principal_owner) -> tuple[AccessKey, str]:
    """Issue a new active key for a main account or RAM user; returns (key, plaintext secret)."""
    account, user = owner_of(principal_owner)
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    if AccessKey.objects.filter(user=user).count() >= MAX_KEYS_PER_USER:
        raise Conflict(
            f"A user can have at most {MAX_KEYS_PER_USER} AccessKeys; delete one first.",
            code="LimitExceeded.AccessKey",
        )
    secret = _random(30)
    access_key = AccessKey.objects.create(
        access_key_id=ID_PREFIX + _random(20),
        secret_ciphertext=encrypt_secret(secret),
        account=account,
        user=user,
    )
    return access_key, secret


def find(access_key_id: str) -> AccessKey | None:
    return (AccessKey.objects.select_related("user", "account")
            .filter(access_key_id=access_key_id).first())


def touch(access_key: AccessKey) -> None:
    """Record use, at most one database write per key per LAST_USED_GRANULARITY."""
    now = timezone.now()
    if access_key.last_used and now - access_key.last_used < LAST_USED_GRANULARITY:
        return
    AccessKey.objects.filter(pk=access_key.pk).update(last_used=now)
    access_key.last_used = now
