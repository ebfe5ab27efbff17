"""Main accounts (tenants) and the RAM users inside them."""
import re

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from console.iam.errors import Conflict, InvalidParameter
from console.iam.models import Account, RamUser

RAM_USER_NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@transaction.atomic
def create_main_account(username: str, password: str, *, is_operator: bool = False) -> Account:
    """Create a sign-in user and the tenant it owns. Operators also get Django admin access."""
    user = get_user_model().objects.create_user(
        username=username, password=password, is_staff=is_operator, is_superuser=is_operator
    )
    return Account.objects.create(name=username, owner=user)


def account_of(user) -> Account | None:
    """The tenant a signed-in user acts for: the account it owns or, for a RAM user, its parent."""
    account = getattr(user, "main_account", None)
    if account is not None:
        return account
    ram_user = getattr(user, "ram_user", None)
    return ram_user.account if ram_user is not None else None


def _check_password(password: str | None, user=None) -> None:
    if password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise InvalidParameter(" ".join(exc.messages), code="InvalidParameter.Password") from None


@transaction.atomic
def create_ram_user(account: Account, name: str, *, display_name: str = "", comments: str = "",
                    password: str | None = None) -> RamUser:
    """A RAM user; without a password it can only use AccessKeys, not sign in to the console."""
    if not RAM_USER_NAME_RE.match(name or ""):
        raise InvalidParameter(
            "UserName must be 1-64 characters of letters, digits, '.', '_' and '-'.",
            code="InvalidParameter.UserName",
        )
    if RamUser.objects.filter(account=account, name=name).exists():
        raise Conflict(f"RAM user {name} already exists.", code="EntityAlreadyExists.User")
    _check_password(password)
    try:
        with transaction.atomic():
            user = get_user_model().objects.create_user(username=f"{name}@{account.uid}", password=password)
    except IntegrityError:
        raise Conflict(f"RAM user {name} already exists.", code="EntityAlreadyExists.User") from None
    if not password:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return RamUser.objects.create(
        account=account, name=name, display_name=display_name or name, comments=comments, user=user
    )


@transaction.atomic
def update_ram_user(ram_user: RamUser, *, display_name: str | None = None, comments: str | None = None,
                    password: str | None = None) -> RamUser:
    """Change profile fields; an empty password string removes console sign-in."""
    if display_name is not None:
        ram_user.display_name = display_name
    if comments is not None:
        ram_user.comments = comments
    ram_user.save()
    user = ram_user.user
    if password is not None:
        _check_password(password, user)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
    user.save()
    return ram_user


@transaction.atomic
def delete_ram_user(ram_user: RamUser) -> None:
    """Delete the RAM user with its sign-in, AccessKeys and policy attachments."""
    ram_user.user.delete()
