"""Console sign-in for RAM users by `<name>@<account name>`.

Main accounts sign in with their user name and RAM users with `<name>@<account uid>`, which is
their Django username, so Django's ModelBackend handles both; this backend adds the alias.
"""
from django.contrib.auth.backends import ModelBackend

from console.iam.models import Account


def canonical_username(login: str) -> str:
    """The Django username behind a login name: RAM users are stored as `<name>@<account uid>`."""
    name, sep, account = login.rpartition("@")
    if not sep or not name:
        return login
    uid = Account.objects.filter(name=account).values_list("uid", flat=True).first()
    return f"{name}@{uid}" if uid else login


class RamUserBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        canonical = canonical_username(username.strip()) if username else username
        if canonical == username:
            return None  # ModelBackend already tried this name
        return super().authenticate(request, username=canonical, password=password, **kwargs)
