"""Tenants of the platform.

A main account (tenant) owns services, resource groups and models; it is identified by a
numeric uid like the seeds' `182848887922****`. The person who signs in as the main account is
a Django user linked one-to-one.
"""
import secrets

from django.conf import settings
from django.db import models


def new_account_uid() -> str:
    """A 16-digit numeric account id that never starts with 0."""
    return str(secrets.randbelow(9 * 10**15) + 10**15)


class Account(models.Model):
    uid = models.CharField(max_length=20, unique=True, default=new_account_uid, editable=False)
    name = models.CharField(max_length=64, unique=True)
    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="main_account"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created"]

    def __str__(self):
        return f"{self.name} ({self.uid})"
