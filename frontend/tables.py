"""Rows of the console's list pages, each list built with a fixed number of queries.

A page of services needs, per row, its running instances, its current description and its
resource group; these are loaded for the whole page at once so a list of hundreds of services
stays as fast as a list of ten.
"""
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, F

from frontend.views.common import group_permissions, service_permissions
from resourcegroups import groups as group_domain
from resourcegroups.models import ChargeType, ResourceGroup
from services.models import Instance, Service, ServiceVersion
from services.spec import resources

TRANSITIONAL = {Service.Status.CREATING, Service.Status.WAITING, Service.Status.UPDATING,
                Service.Status.STOPPING, Service.Status.STARTING, Service.Status.DELETING}
STATUS_CLASSES = {
    Service.Status.RUNNING: "ok",
    Service.Status.STOPPED: "plain",
    Service.Status.FAILED: "bad",
    **dict.fromkeys(TRANSITIONAL, "busy"),
}
CHARGE_LABELS = {ChargeType.PREPAID: "Prepaid", ChargeType.POSTPAID: "Postpaid"}


def status_class(status: str) -> str:
    return STATUS_CLASSES.get(status, "plain")


@dataclass
class ServiceRow:
    service: Service
    description: dict
    running: int
    total: int
    group_name: str
    group_type: str
    can: dict[str, bool] = field(default_factory=dict)

    @property
    def status_class(self) -> str:
        return status_class(self.service.status)

    @property
    def transitional(self) -> bool:
        return self.service.status in TRANSITIONAL

    @property
    def versions(self) -> range:
        """Versions are numbered 1..latest without gaps, so the dropdown needs no query."""
        return range(self.service.latest_version, 0, -1)

    @property
    def resources(self):
        return resources(self.description)

    @property
    def processor(self) -> str:
        return self.description.get("processor") or f"custom ({self.description.get('processor_type')})"


def service_rows(principal, services: list[Service]) -> list[ServiceRow]:
    """Rows for a page of services: three queries whatever the page size."""
    ids = [s.pk for s in services]
    descriptions = dict(ServiceVersion.objects.filter(service_id__in=ids, number=F("service__current_version"))
                        .values_list("service_id", "description"))
    running, total = Counter(), Counter()
    live = (Instance.objects.filter(service_id__in=ids, status__in=Instance.LIVE, version=F("service__current_version"))
            .values("service_id", "status").annotate(n=Count("id")))
    for row in live:
        total[row["service_id"]] += row["n"]
        if row["status"] == Instance.Status.RUNNING:
            running[row["service_id"]] += row["n"]
    group_ids = {s.resource_group_id for s in services if s.resource_group_id}
    groups = {g.group_id: g for g in ResourceGroup.objects.filter(account=principal.account, group_id__in=group_ids)}
    rows = []
    for service in services:
        group = groups.get(service.resource_group_id)
        if service.resource_group_id:
            name = group.name if group else service.resource_group_id
            kind = CHARGE_LABELS.get(group.charge_type, "") if group else ""
        else:
            name, kind = "Public", CHARGE_LABELS[ChargeType.POSTPAID]
        service.__dict__["description"] = descriptions.get(service.pk, {"metadata": {}})
        rows.append(ServiceRow(service, service.description, running[service.pk], total[service.pk], name, kind,
                               service_permissions(principal, service)))
    return rows


@dataclass
class GroupCard:
    group: ResourceGroup
    services: int
    can: dict[str, bool] = field(default_factory=dict)

    @property
    def formal(self) -> int:
        return self.group.instance_count - self.group.temporary_count

    @property
    def status_class(self) -> str:
        return {ResourceGroup.Status.READY: "ok", ResourceGroup.Status.CREATING: "busy",
                ResourceGroup.Status.CREATE_FAILED: "bad"}.get(self.group.status, "warn")

    @property
    def charge_label(self) -> str:
        return CHARGE_LABELS.get(self.group.charge_type, "")


def group_cards(principal, queryset, limit: int | None = None) -> list[GroupCard]:
    """Dedicated groups with their machine counts and deployed services: two queries."""
    groups = list(group_domain.with_usage(queryset).select_related("account").order_by("-created", "-id")[:limit])
    deployed = dict(Service.objects.filter(account=principal.account,
                                           resource_group_id__in=[g.group_id for g in groups])
                    .values_list("resource_group_id").annotate(n=Count("id")))
    return [GroupCard(g, deployed.get(g.group_id, 0), group_permissions(principal, g)) for g in groups]
