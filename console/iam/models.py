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


class RamUser(models.Model):
    """A person or program acting inside a main account with only the permissions granted to it.

    Each RAM user signs in through its own Django user whose username is `<name>@<account uid>`
    (globally unique, so Django's sessions and password handling work unchanged).
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="ram_users")
    name = models.CharField(max_length=64)
    display_name = models.CharField(max_length=128, blank=True)
    comments = models.CharField(max_length=255, blank=True)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ram_user")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="ram_user_name_unique_per_account"),
        ]

    def __str__(self):
        return self.login_name

    @property
    def login_name(self) -> str:
        return f"{self.name}@{self.account.uid}"


class AccessKey(models.Model):
    """An AccessKey pair of a main account or RAM user; the secret is stored encrypted only."""

    class Status(models.TextChoices):
        ACTIVE = "Active"
        INACTIVE = "Inactive"

    access_key_id = models.CharField(max_length=32, unique=True)
    secret_ciphertext = models.TextField(editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="access_keys")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_keys")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created"]

    def __str__(self):
        return self.access_key_id

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Policy(models.Model):
    """A named policy document: built-in (System, no account) or a main account's Custom one."""

    class Type(models.TextChoices):
        SYSTEM = "System"
        CUSTOM = "Custom"

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, null=True, blank=True, related_name="policies"
    )
    name = models.CharField(max_length=128)
    policy_type = models.CharField(max_length=8, choices=Type.choices, default=Type.CUSTOM)
    description = models.CharField(max_length=1024, blank=True)
    document = models.JSONField()
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["policy_type", "name"]
        verbose_name_plural = "policies"
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="policy_name_unique_per_account"),
            models.UniqueConstraint(
                fields=["name"], condition=models.Q(account__isnull=True), name="system_policy_name_unique"
            ),
        ]

    def __str__(self):
        return self.name


class PolicyAttachment(models.Model):
    """A policy granted to a RAM user; a policy in use cannot be deleted."""

    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="attachments")
    ram_user = models.ForeignKey(RamUser, on_delete=models.CASCADE, related_name="attachments")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "ram_user"], name="policy_attached_once_per_user"),
        ]

    def __str__(self):
        return f"{self.policy} → {self.ram_user}"


class AuditEntry(models.Model):
    """One write attempt: who (account, user, AccessKey), what, on which target, when, with what result.

    The actor's name is copied so the trail still reads after a RAM user or key is deleted.
    """

    SUCCESS = "Success"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="audit_entries")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor = models.CharField(max_length=200)
    access_key_id = models.CharField(max_length=32, blank=True)
    operation = models.CharField(max_length=64)
    target = models.CharField(max_length=512, blank=True)
    result = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["account", "-created"], name="audit_account_recent")]

    def __str__(self):
        return f"{self.created:%Y-%m-%d %H:%M:%S} {self.actor} {self.operation} {self.result}"
