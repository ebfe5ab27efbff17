"""Service representations in the EAS 2021-07-01 OpenAPI shape (field names as the SDK reads them)."""
import json

from django.conf import settings

from services import endpoints
from services.models import DeploymentEvent, Instance, Service, ServiceVersion
from services.spec import resources

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _time(value) -> str:
    return value.strftime(TIME_FORMAT) if value else ""


def service_json(service: Service, instances: list[Instance] | None = None) -> dict:
    description = service.description
    res = resources(description)
    if instances is None:
        instances = list(service.instances.filter(status__in=Instance.LIVE))
    current = [i for i in instances if i.version == service.current_version]
    running = sum(1 for i in current if i.status == Instance.Status.RUNNING)
    return {
        "ServiceId": f"eas-m-{service.pk}",
        "ServiceName": service.name,
        "ServiceUid": str(service.pk),
        "CallerUid": service.account.uid,
        "ParentUid": service.account.uid,
        "Region": service.region,
        "Status": service.status,
        "Reason": "",
        "Message": service.message,
        "CreateTime": _time(service.created),
        "UpdateTime": _time(service.updated),
        "AccessToken": service.token,
        "TotalInstance": len(current),
        "RunningInstance": running,
        "PendingInstance": len(current) - running,
        "Cpu": res.cpu,
        "Gpu": res.gpu,
        "Memory": res.memory_mb,
        "Image": description.get("processor") or f"custom-{description.get('processor_type')}",
        "Resource": service.resource_group_id or "public",
        "ResourceAlias": service.resource_group_id or "public",
        "Weight": service.traffic_weight if service.origin_name else 100,
        "TrafficState": "standalone" if not service.origin_name else (
            "released" if service.released else "grouping"),
        "ServiceGroup": service.origin_name or service.name,
        "Role": "associated" if service.origin_name else "",
        "LatestVersion": service.latest_version,
        "CurrentVersion": service.current_version,
        "InternetEndpoint": endpoints.internet_endpoint(service),
        "IntranetEndpoint": endpoints.intranet_endpoint(service),
        "ServiceConfig": json.dumps(description),
        "Source": "eas",
        "Namespace": service.name,
    }


def version_json(version: ServiceVersion, service: Service) -> dict:
    return {
        "BuildTime": _time(version.created),
        "ImageAvailable": "true",
        "ImageId": version.number,
        "Message": "current" if version.number == service.current_version else "",
        "ServiceConfig": json.dumps(version.description),
        "ServiceRunnable": "true",
    }


def instance_json(instance: Instance) -> dict:
    machine = instance.machine
    return {
        "InstanceName": instance.name,
        "Status": instance.status,
        "Reason": instance.message[:500],
        "HostName": machine.name if machine else "",
        "HostIP": machine.ip if machine else "",
        "InnerIP": instance.host,
        "InstancePort": instance.port or 0,
        "RestartCount": instance.restarts,
        "StartAt": _time(instance.created),
        "StartTime": _time(instance.created),
        "LastState": [],
        "ReadyProcesses": 1 if instance.status == Instance.Status.RUNNING else 0,
        "TotalProcesses": 1,
        "Namespace": instance.service.name,
        "ResourceType": "PublicResource" if not instance.service.resource_group_id else "Dedicated",
        "Role": f"v{instance.version}",
    }


def event_json(event: DeploymentEvent) -> dict:
    return {
        "Time": _time(event.created),
        "Type": "Normal" if event.level == "OK" else "Warning",
        "Reason": event.level,
        "Message": event.line,
    }


def endpoints_json(service: Service) -> dict:
    return {
        "AccessToken": service.token,
        "Endpoints": {
            "InternetEndpoints": [endpoints.internet_endpoint(service)] if not service.released else [],
            "IntranetEndpoints": [endpoints.intranet_endpoint(service)] if not service.released else [],
        },
        "Message": ("This service is released into "
                    f"{service.origin_name}'s endpoint." if service.released else ""),
        "Region": settings.EAS_REGION,
    }


def schedule_json(schedule) -> dict:
    return {
        "Cron": schedule.cron, "ModelPath": schedule.model_path, "CheckRequest": schedule.check_body,
        "ExpectStatus": schedule.expect_status, "ExpectContains": schedule.expect_contains,
        "Enabled": schedule.enabled, "NextRunTime": _time(schedule.next_run),
        "LastRunTime": _time(schedule.last_run), "LastVersion": schedule.last_version,
        "LastResult": schedule.last_result,
    }
