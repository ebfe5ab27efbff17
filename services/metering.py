"""Pay-as-you-go billing of services on the public resource group (R1): Quota-hours of every
instance from when it first ran, billed in stretches by a beat task."""
from django.db import transaction
from django.utils import timezone

from resourcegroups.billing import record_quota_usage
from services.models import Instance
from services.spec import resources


def meter_public_instances(now=None) -> int:
    """Bill every running public-group instance up to `now`; returns how many bills were made."""
    now = now or timezone.now()
    billed = 0
    instances = Instance.objects.filter(service__resource_group_id="", running_since__isnull=False,
                                        status__in=Instance.LIVE).select_related("service__account")
    for instance in instances:
        start = instance.billed_until or instance.running_since
        if start >= now:
            continue
        quota = resources(instance.service.versions.get(number=instance.version).description).quota
        with transaction.atomic():
            record_quota_usage(instance.service_id, instance.service.account, quota, start, now)
            Instance.objects.filter(pk=instance.pk).update(billed_until=now)
        billed += 1
    return billed
