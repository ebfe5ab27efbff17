"""Creating main accounts."""
from django.contrib.auth import get_user_model
from django.db import transaction

from console.iam.models import Account


@transaction.atomic
def create_main_account(username: str, password: str, *, is_operator: bool = False) -> Account:
    """Create a sign-in user and the tenant it owns. Operators also get Django admin access."""
    user = get_user_model().objects.create_user(
        username=username, password=password, is_staff=is_operator, is_superuser=is_operator
    )
    return Account.objects.create(name=username, owner=user)


def account_of(user) -> Account | None:
    """The tenant a signed-in user acts for."""
    return getattr(user, "main_account", None)
