"""Looking up, naming and deleting resource groups.

Every region has one public group (created on first use) holding the machines the operator
shares; dedicated groups (`eas-r-…`) belong to one account and are bought through `orders`.
"""
import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, FloatField, Q, Sum, Value
from django.db.models.functions import Coalesce

from console.iam.errors import Conflict, InvalidParameter, NotFound
from resourcegroups import catalog, hooks, state
from resourcegroups.models import ChargeType, ResourceGroup

PUBLIC_GROUP_NAME = "public"
NAME_RE = re.compile(r"^[\w\-.\u4e00-\u9fff]{1,64}$")


def check_region(region: str) -> str:
    if catalog.region(region) is None:
        raise InvalidParameter(f"Unknown region {region!r}.", code="InvalidParameter.ClusterId")
    return region


def public_group(region: str | None = None) -> ResourceGroup:
    """The region's public group (default: this installation's region)."""
    region = check_region(region or settings.EAS_REGION)
    group = ResourceGroup.objects.filter(kind=ResourceGroup.Kind.PUBLIC, region=region).first()
    if group is not None:
        return group
    try:
        with transaction.atomic():
            return ResourceGroup.objects.create(
                group_id=f"eas-public-{region}", name=PUBLIC_GROUP_NAME, region=region,
                kind=ResourceGroup.Kind.PUBLIC, charge_type=ChargeType.POSTPAID,
                status=ResourceGroup.Status.READY, message="Resource is ready",
            )
    except IntegrityError:  # created concurrently
        return ResourceGroup.objects.get(kind=ResourceGroup.Kind.PUBLIC, region=region)


def not_found(resource_id: str) -> NotFound:
    return NotFound(f"Resource group {resource_id} does not exist.", code="ResourceNotFound")


def dedicated_groups(account):
    return ResourceGroup.objects.filter(account=account, kind=ResourceGroup.Kind.DEDICATED)


def with_usage(queryset):
    """Groups annotated with the totals and current usage of their machines."""
    def total(field, output=None):
        return Coalesce(Sum(field, output_field=output), Value(0, output_field=output) if output else 0)

    return queryset.select_related("account").annotate(
        instance_count=Count("machines"),
        cpu_count=total("machines__cpu"),
        gpu_count=total("machines__gpu"),
        memory_mb=total("machines__memory_mb"),
        memory_used_mb=total("machines__memory_used_mb"),
        cpu_used=total("machines__cpu_used", FloatField()),
        gpu_used=total(F("machines__gpu") * F("machines__gpu_utilization") / 100.0, FloatField()),
        prepaid_count=Count("machines", filter=Q(machines__charge_type=ChargeType.PREPAID)),
        postpaid_count=Count("machines", filter=Q(machines__charge_type=ChargeType.POSTPAID)),
        temporary_count=Count("machines", filter=Q(machines__temporary=True)),
    )


def resolve_group(account, region: str, resource_id: str | None) -> ResourceGroup:
    """The group a service description's `resource` names: empty = the region's public group.

    Another account's group reads as missing.
    """
    if not resource_id:
        return public_group(region)
    group = dedicated_groups(account).filter(region=region, group_id=resource_id).first()
    if group is None:
        raise not_found(resource_id)
    return group


def clean_name(name: str) -> str:
    name = (name or "").strip()
    if not NAME_RE.match(name):
        raise InvalidParameter("ResourceName must be 1-64 letters, digits, '_', '-' or '.'.",
                               code="InvalidParameter.ResourceName")
    return name


def rename(group: ResourceGroup, name: str) -> ResourceGroup:
    group.name = clean_name(name)
    group.save(update_fields=["name", "updated"])
    return group


def delete(group: ResourceGroup) -> None:
    """DeleteResource: only a stopped (or never created) postpaid group without services goes.

    Prepaid groups are not deleted by their owner (the seeds: "预付费资源组不支持删除操作"); they
    end with their subscription.
    """
    if group.status != ResourceGroup.Status.CREATE_FAILED:
        if group.is_prepaid:
            raise Conflict("A prepaid resource group cannot be deleted; it is released when it expires.",
                           code="Forbidden.PrePaidResource")
        if group.machines.exists() or group.status != ResourceGroup.Status.STOPPED:
            raise Conflict("Stop the resource group (scale it to 0 machines) before deleting it.",
                           code="ResourceNotStopped")
    if hooks.services_of(group):
        raise Conflict("Services are still deployed in the resource group; delete them first.",
                       code="ResourceInUse")
    state.release(group)
