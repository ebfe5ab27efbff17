"""How services follow their resource group (receivers of `resourcegroups.signals`).

A stopped group stops its services' instances and a started one brings them back (desired
state is kept); machines leaving a group take their instances with them, which the reconciler
replaces; a released group takes its services with it.
"""
from django.db import transaction
from django.dispatch import receiver

from console.celery import app as celery_app
from resourcegroups import hooks, signals
from services import operations
from services.models import Service


def services_on(group):
    if group.is_public:
        return Service.objects.filter(region=group.region, resource_group_id="")
    return Service.objects.filter(account=group.account, region=group.region, resource_group_id=group.group_id)


def _reconcile_services_of(group) -> None:
    ids = list(services_on(group).values_list("pk", flat=True))
    transaction.on_commit(lambda: [celery_app.send_task("services.reconcile_service", args=[pk]) for pk in ids])


@receiver(signals.group_stopped)
@receiver(signals.group_started)
@receiver(signals.machines_removed)
def reconcile_group_services(sender, group, **kwargs) -> None:
    _reconcile_services_of(group)


@receiver(signals.group_released)
def delete_group_services(sender, group, **kwargs) -> None:
    for service in services_on(group):
        operations.delete_service(service)


hooks.register_service_source(services_on)
