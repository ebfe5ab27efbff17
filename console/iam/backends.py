"""Console sign-in for main accounts (`<user name>`) and RAM users (`<name>@<account uid or name>`)."""
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
        if username:
            username = canonical_username(username.strip())
        return super().authenticate(request, username=username, password=password, **kwargs)
