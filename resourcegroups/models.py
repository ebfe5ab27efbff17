"""Resource groups and what is behind them: machines, orders, bills, prices and wallets.

Registered machines are the platform's real capacity. Each machine is free (sellable to dedicated
groups), in its region's public group, or in one dedicated group as a formal or temporary machine.
"""
import secrets
import string
from decimal import Decimal

from django.conf import settings
from django.db import models

from console.iam.authz import resourcegroup_arn
from console.iam.models import Account
from resourcegroups import catalog

ID_ALPHABET = string.ascii_lowercase + string.digits


def random_id(prefix: str, length: int = 20) -> str:
    return prefix + "".join(secrets.choice(ID_ALPHABET) for _ in range(length))


def new_group_id() -> str:
    """Dedicated group ids look like the seeds' `eas-r-lzo32vrdbtukr7te3i`."""
    return random_id("eas-r-", 18)


def new_instance_id() -> str:
    return random_id("i-", 20)


def new_order_id() -> str:
    """A 15-digit numeric order number, like the order numbers of a cloud bill."""
    return str(secrets.randbelow(9 * 10**14) + 10**14)


def default_region() -> str:
    return settings.EAS_REGION


class ChargeType(models.TextChoices):
    PREPAID = "PrePaid"
    POSTPAID = "PostPaid"


class ResourceGroup(models.Model):
    class Kind(models.TextChoices):
        PUBLIC = "Public"
        DEDICATED = "Dedicated"

    class Status(models.TextChoices):
        CREATING = "Creating"
        READY = "ResourceReady"
        CREATE_FAILED = "CreateFailed"
        STOPPED = "Stopped"

    class StopReason(models.TextChoices):
        NONE = "", "-"
        EXPIRED = "Expired"
        ARREARS = "Arrears"
        SCALED_TO_ZERO = "ScaledToZero"

    group_id = models.CharField(max_length=64, unique=True, default=new_group_id)
    name = models.CharField(max_length=128)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="resource_groups", help_text="owner; empty for public groups")
    region = models.CharField(max_length=32, default=default_region)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.DEDICATED)
    charge_type = models.CharField(max_length=16, choices=ChargeType.choices, blank=True)
    machine_type = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATING)
    message = models.TextField(blank=True)
    stop_reason = models.CharField(max_length=16, choices=StopReason.choices, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    auto_renew = models.BooleanField(default=False)
    renew_months = models.PositiveSmallIntegerField(default=1, help_text="period of an automatic renewal")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="prepaid groups only")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["region"], condition=models.Q(kind="Public"),
                                    name="one_public_group_per_region"),
        ]

    def __str__(self):
        return self.group_id if self.name == self.group_id else f"{self.name} ({self.group_id})"

    @property
    def arn(self) -> str:
        return resourcegroup_arn(self.account, self.group_id, self.region)

    @property
    def is_public(self) -> bool:
        return self.kind == self.Kind.PUBLIC

    @property
    def is_prepaid(self) -> bool:
        return self.charge_type == ChargeType.PREPAID

    @property
    def is_running(self) -> bool:
        """Whether services may run on the group's machines now."""
        return self.status == self.Status.READY

    @property
    def direct_connection_enabled(self) -> bool:
        """VPC direct connection is on (the gateway lets clients reach instances directly)."""
        return DirectLink.objects.filter(group=self).exists()


class Machine(models.Model):
    class Status(models.TextChoices):
        READY = "Ready"
        NOT_READY = "NotReady"

    name = models.CharField(max_length=128, unique=True)
    instance_id = models.CharField(max_length=32, unique=True, default=new_instance_id)
    region = models.CharField(max_length=32, default=default_region)
    ip = models.GenericIPAddressField()
    cpu = models.PositiveIntegerField(help_text="cores")
    memory_mb = models.PositiveIntegerField()
    gpu = models.PositiveIntegerField(default=0)
    gpu_type = models.CharField(max_length=64, blank=True)
    machine_type = models.CharField(
        max_length=64, blank=True,
        help_text="catalog type this machine is sold as; empty: any type its spec matches",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.READY)
    agent_version = models.CharField(max_length=32, blank=True)
    cpu_used = models.FloatField(default=0, help_text="cores busy at the last heartbeat")
    memory_used_mb = models.PositiveIntegerField(default=0)
    gpu_utilization = models.FloatField(default=0, help_text="percent, averaged over GPUs")
    last_heartbeat = models.DateTimeField(null=True, blank=True)
    registered = models.DateTimeField(auto_now_add=True)
    group = models.ForeignKey(ResourceGroup, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="machines", help_text="empty: free for dedicated purchases")
    charge_type = models.CharField(max_length=16, choices=ChargeType.choices, blank=True)
    temporary = models.BooleanField(default=False, help_text="pay-as-you-go machine of a prepaid group")
    assigned_at = models.DateTimeField(null=True, blank=True)
    billed_until = models.DateTimeField(null=True, blank=True,
                                        help_text="pay-as-you-go use is billed up to here")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def shown_type(self) -> str:
        """The type shown in lists: the group's type when sold, else the explicit or matched type."""
        if self.group_id and self.group.machine_type:
            return self.group.machine_type
        if self.machine_type:
            return self.machine_type
        matches = catalog.matching_types(self.cpu, self.memory_mb, self.gpu, self.gpu_type)
        return matches[0] if matches else ""


class DirectLink(models.Model):
    """VPC direct connection of a dedicated group (seed 5.4, `eascmd resource network`)."""

    group = models.OneToOneField(ResourceGroup, on_delete=models.CASCADE, primary_key=True,
                                 related_name="dlink")
    vpc_id = models.CharField(max_length=64, blank=True)
    vswitch_id = models.CharField(max_length=64)
    security_group_id = models.CharField(max_length=64)
    aux_vswitch_ids = models.JSONField(default=list, blank=True)
    destination_cidrs = models.JSONField(default=list, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.group_id} → {self.vswitch_id}"


class Order(models.Model):
    """A purchase or change of a dedicated group; paid orders that fail are refunded."""

    class Kind(models.TextChoices):
        CREATE = "Create"
        SCALE_UP = "ScaleUp"
        TEMPORARY = "TemporaryScaleOut"
        SCALE_DOWN = "ScaleDown"
        RENEW = "Renew"
        REFUND = "Refund"

    class Status(models.TextChoices):
        PENDING = "Pending"
        COMPLETED = "Completed"
        FAILED = "Failed"
        REFUNDED = "Refunded"

    order_id = models.CharField(max_length=20, unique=True, default=new_order_id)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="resource_orders")
    group = models.ForeignKey(ResourceGroup, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="orders")
    resource_id = models.CharField(max_length=64, help_text="group id, kept after the group is deleted")
    region = models.CharField(max_length=32)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    charge_type = models.CharField(max_length=16, choices=ChargeType.choices, blank=True)
    machine_type = models.CharField(max_length=64, blank=True)
    count = models.PositiveIntegerField(default=0)
    months = models.PositiveSmallIntegerField(default=0)
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"),
                                 help_text="paid when placed (refunds are negative)")
    reason = models.TextField(blank=True)
    refund_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="refunds")
    instance_ids = models.JSONField(default=list, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return f"{self.order_id} {self.kind} {self.resource_id}"


class Bill(models.Model):
    """One charge (or refund) to an account's wallet."""

    class Kind(models.TextChoices):
        PREPAID = "PrePaid"
        POSTPAID = "PostPaid"
        TEMPORARY = "Temporary"
        QUOTA = "Quota"
        REFUND = "Refund"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="bills")
    group = models.ForeignKey(ResourceGroup, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="bills")
    resource_id = models.CharField(max_length=64, blank=True)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="bills")
    service_id = models.CharField(max_length=128, blank=True, help_text="public-group service")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    machine_type = models.CharField(max_length=64, blank=True)
    quantity = models.DecimalField(max_digits=16, decimal_places=4)
    unit = models.CharField(max_length=16)
    unit_price = models.DecimalField(max_digits=14, decimal_places=4)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return f"{self.kind} {self.amount} ({self.account})"


class Price(models.Model):
    """Unit prices the operator sets; a machine type has a monthly and an hourly price."""

    class Kind(models.TextChoices):
        PREPAID_MONTH = "PrePaidMonth", "prepaid, per machine-month"
        POSTPAID_HOUR = "PostPaidHour", "pay-as-you-go, per machine-hour"
        QUOTA_HOUR = "QuotaHour", "public group, per Quota-hour"

    machine_type = models.CharField(max_length=64, blank=True, help_text="empty for Quota prices")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    unit_price = models.DecimalField(max_digits=14, decimal_places=4)
    currency = models.CharField(max_length=8, default="CNY")

    class Meta:
        ordering = ["machine_type", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["machine_type", "kind"], name="one_price_per_type_and_kind"),
        ]

    def __str__(self):
        return f"{self.machine_type or 'Quota'} {self.kind}: {self.unit_price} {self.currency}"


class Wallet(models.Model):
    """An account's balance. Bills debit it, top-ups and refunds credit it.

    The account is in arrears while the balance is below `-overdraft_limit`; an empty limit (the
    default) means the operator does not enforce payment, so the account never falls in arrears.
    """

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="wallet")
    balance = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    overdraft_limit = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True,
        help_text="how far below zero the balance may go; empty: no limit",
    )
    arrears_since = models.DateTimeField(null=True, blank=True)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.account}: {self.balance}"

    def covers(self, amount: Decimal) -> bool:
        """Whether paying `amount` keeps the account out of arrears."""
        return self.overdraft_limit is None or self.balance - amount >= -self.overdraft_limit

    @property
    def in_arrears(self) -> bool:
        return self.overdraft_limit is not None and self.balance < -self.overdraft_limit
