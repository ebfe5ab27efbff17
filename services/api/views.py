"""REST endpoints of model services, at the EAS 2021-07-01 OpenAPI paths.

Every view names its operation per HTTP method (`eas_operations`); objects are looked up inside
the caller's tenant only and then authorized (see `console.iam.api.permissions`).
"""
import json

from celery.exceptions import TimeoutError as CeleryTimeout
from rest_framework.parsers import BaseParser
from rest_framework.views import APIView

from console.celery import node_queue
from console.iam.api.permissions import EasOperationPermission, authorized_object
from console.iam.api.responses import api_response
from console.iam.authz import principal_of, service_arn
from console.iam.errors import ApiError, InvalidParameter, NotFound
from services import operations, schedules
from services.agent_tasks import instance_log
from services.api import serializers
from services.models import Instance, RedeploySchedule, Service, ServiceVersion

LOG_TIMEOUT_SECONDS = 10


class RawJSONParser(BaseParser):
    """Bodies are service descriptions; keep the text so validation can report JSON errors."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read()


def body_object(request) -> dict:
    raw = request.data or b"{}"
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidParameter(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidParameter("The request body must be a JSON object.")
    return data


def page_params(request) -> tuple[int, int]:
    try:
        number = max(1, int(request.query_params.get("PageNumber") or request.query_params.get("PageNum") or 1))
        size = min(1000, max(1, int(request.query_params.get("PageSize") or 100)))
    except ValueError:
        raise InvalidParameter("PageNumber and PageSize must be integers.") from None
    return number, size


class ServiceView(APIView):
    """Base: the service named in the path, inside the caller's tenant."""

    permission_classes = [EasOperationPermission]
    parser_classes = [RawJSONParser]

    def service(self, request, ClusterId, ServiceName) -> Service:
        return authorized_object(
            request, Service.objects.filter(region=ClusterId, name=ServiceName).select_related("account"),
            lambda s: service_arn(s.account, s.name, s.region),
            NotFound(f"Service {ServiceName} not found in region {ClusterId}.",
                     code="InvalidService.NotFound"),
        )


class ServiceCollectionView(ServiceView):
    eas_operations = {"GET": "ListServices", "POST": "CreateService"}

    def get(self, request):
        principal = principal_of(request)
        services = Service.objects.filter(account=principal.account).select_related("account")
        params = request.query_params
        if params.get("ServiceName"):
            services = services.filter(name__icontains=params["ServiceName"])
        if params.get("ServiceStatus"):
            services = services.filter(status=params["ServiceStatus"])
        if params.get("ResourceName"):
            services = services.filter(resource_group_id=params["ResourceName"])
        number, size = page_params(request)
        total = services.count()
        page = list(services.order_by("-created")[(number - 1) * size: number * size])
        live = {}
        for instance in Instance.objects.filter(service__in=page, status__in=Instance.LIVE):
            live.setdefault(instance.service_id, []).append(instance)
        attach_descriptions(page)
        return api_response(request, {
            "Services": [serializers.service_json(s, live.get(s.pk, [])) for s in page],
            "TotalCount": total, "PageNumber": number, "PageSize": size,
        })

    def post(self, request):
        principal = principal_of(request)
        associate = request.query_params.get("Associate", "").lower() == "true"
        service = operations.create_service(principal.account, request.data or b"", associate=associate)
        return api_response(request, {
            "ServiceId": f"eas-m-{service.pk}", "ServiceName": service.name, "Region": service.region,
            "Status": service.status,
            "InternetEndpoint": serializers.service_json(service, [])["InternetEndpoint"],
            "IntranetEndpoint": serializers.service_json(service, [])["IntranetEndpoint"],
        })


def attach_descriptions(services: list[Service]) -> None:
    """Load the current description of many services in one query."""
    by_key = {(v.service_id, v.number): v.description
              for v in ServiceVersion.objects.filter(service__in=services)}
    for service in services:
        service.__dict__["description"] = by_key[(service.pk, service.current_version)]


class ServiceDetailView(ServiceView):
    eas_operations = {"GET": "DescribeService", "PUT": "UpdateService", "DELETE": "DeleteService"}

    def get(self, request, ClusterId, ServiceName):
        return api_response(request, serializers.service_json(self.service(request, ClusterId, ServiceName)))

    def put(self, request, ClusterId, ServiceName):
        service = self.service(request, ClusterId, ServiceName)
        update_type = (request.query_params.get("UpdateType") or "merge").lower()
        if update_type not in ("merge", "replace"):
            raise InvalidParameter("UpdateType must be merge or replace.")
        operations.update_service(service, request.data or b"{}", replace=update_type == "replace")
        return api_response(request, {"Message": f"Service [{ServiceName}] is being updated"})

    def delete(self, request, ClusterId, ServiceName):
        operations.delete_service(self.service(request, ClusterId, ServiceName))
        return api_response(request, {"Message": f"Service [{ServiceName}] was deleted successfully"})


class ServiceActionView(ServiceView):
    """PUT start / stop / restart."""

    action = ""
    operations_by_action = {"start": "StartService", "stop": "StopService", "restart": "RestartService"}
    performers = {"start": operations.start_service, "stop": operations.stop_service,
                  "restart": operations.restart_service}
    messages = {"start": "is starting", "stop": "is stopping", "restart": "is restarting"}

    @property
    def eas_operations(self):
        return {"PUT": self.operations_by_action[self.action]}

    def put(self, request, ClusterId, ServiceName):
        self.performers[self.action](self.service(request, ClusterId, ServiceName))
        return api_response(request, {"Message": f"Service [{ServiceName}] {self.messages[self.action]}"})


class ServiceVersionView(ServiceView):
    eas_operations = {"PUT": "UpdateServiceVersion"}

    def put(self, request, ClusterId, ServiceName):
        service = self.service(request, ClusterId, ServiceName)
        version = body_object(request).get("Version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise InvalidParameter("Version must be an integer.")
        operations.switch_version(service, version)
        return api_response(request, {"Message": f"Service [{ServiceName}] is switching to version {version}"})


class ServiceVersionsView(ServiceView):
    eas_operations = {"GET": "ListServiceVersions"}

    def get(self, request, ClusterId, ServiceName):
        service = self.service(request, ClusterId, ServiceName)
        number, size = page_params(request)
        versions = list(service.versions.order_by("-number"))
        page = versions[(number - 1) * size: number * size]
        return api_response(request, {
            "Versions": [serializers.version_json(v, service) for v in page],
            "TotalCount": len(versions), "PageNumber": number, "PageSize": size,
        })


class ServiceReleaseView(ServiceView):
    eas_operations = {"PUT": "ReleaseService"}

    def put(self, request, ClusterId, ServiceName):
        service = self.service(request, ClusterId, ServiceName)
        weight = body_object(request).get("Weight")
        if not isinstance(weight, int) or isinstance(weight, bool):
            raise InvalidParameter("Weight must be an integer between 0 and 100.")
        operations.release_service(service, weight)
        return api_response(request, {"Message": f"Service [{ServiceName}] is weighted to {weight}% now"})


class ServiceInstancesView(ServiceView):
    eas_operations = {"GET": "ListServiceInstances"}

    def get(self, request, ClusterId, ServiceName):
        service = self.service(request, ClusterId, ServiceName)
        number, size = page_params(request)
        instances = list(service.instances.filter(status__in=Instance.LIVE).select_related("machine", "service"))
        page = instances[(number - 1) * size: number * size]
        return api_response(request, {
            "Instances": [serializers.instance_json(i) for i in page],
            "TotalCount": len(instances), "PageNumber": number, "PageSize": size,
        })


class ServiceEventsView(ServiceView):
    eas_operations = {"GET": "DescribeServiceEvent"}

    def get(self, request, ClusterId, ServiceName):
        service = self.service(request, ClusterId, ServiceName)
        number, size = page_params(request)
        events = service.events.all()
        total = events.count()
        page = events[(number - 1) * size: number * size]
        return api_response(request, {
            "Events": [serializers.event_json(e) for e in page],
            "TotalCount": total, "PageNum": number, "TotalPageNum": max(1, -(-total // size)),
        })


class ServiceLogsView(ServiceView):
    eas_operations = {"GET": "DescribeServiceLog"}

    def get(self, request, ClusterId, ServiceName):
        service = self.service(request, ClusterId, ServiceName)
        name = request.query_params.get("InstanceName")
        instances = service.instances.filter(machine__isnull=False).select_related("machine")
        instance = instances.filter(name=name).first() if name else instances.order_by("-created").first()
        if instance is None:
            raise NotFound(f"Instance {name or ''} of service {ServiceName} not found.",
                           code="InvalidInstance.NotFound")
        number, size = page_params(request)
        try:
            text = instance_log.apply_async(args=[instance.name, number * size],
                                            queue=node_queue(instance.machine.name)) \
                .get(timeout=LOG_TIMEOUT_SECONDS)
        except CeleryTimeout:
            raise ApiError(f"Machine {instance.machine.name} did not answer for the logs of {instance.name}.",
                           code="ServiceUnavailable", status=503) from None
        lines = text.splitlines()
        keyword = request.query_params.get("Keyword")
        if keyword:
            lines = [line for line in lines if keyword in line]
        return api_response(request, {"Logs": lines[-size:], "TotalCount": len(lines), "PageNum": number,
                                      "TotalPageNum": 1, "InstanceName": instance.name})


class ServiceEndpointsView(ServiceView):
    eas_operations = {"GET": "DescribeServiceEndpoints"}

    def get(self, request, ClusterId, ServiceName):
        service = self.service(request, ClusterId, ServiceName)
        return api_response(request, serializers.endpoints_json(service))



class ServiceScheduleView(ServiceView):
    """Scheduled redeploy of a service (our addition to the EAS API, SPEC S12)."""

    eas_operations = {"GET": "DescribeServiceSchedule", "PUT": "UpdateServiceSchedule",
                      "DELETE": "DeleteServiceSchedule"}

    def get(self, request, ClusterId, ServiceName):
        schedule = getattr(self.service(request, ClusterId, ServiceName), "schedule", None)
        if schedule is None:
            raise NotFound(f"Service {ServiceName} has no redeploy schedule.", code="InvalidSchedule.NotFound")
        return api_response(request, serializers.schedule_json(schedule))

    def put(self, request, ClusterId, ServiceName):
        service = self.service(request, ClusterId, ServiceName)
        body = body_object(request)
        if not body.get("Cron") or not body.get("ModelPath"):
            raise InvalidParameter("Cron and ModelPath are required.")
        schedule = schedules.set_schedule(
            service, cron=str(body["Cron"]), model_path=str(body["ModelPath"]),
            check_body=str(body.get("CheckRequest", "")), expect_status=int(body.get("ExpectStatus", 200)),
            expect_contains=str(body.get("ExpectContains", "")), enabled=bool(body.get("Enabled", True)),
        )
        return api_response(request, serializers.schedule_json(schedule))

    def delete(self, request, ClusterId, ServiceName):
        service = self.service(request, ClusterId, ServiceName)
        deleted, _ = RedeploySchedule.objects.filter(service=service).delete()
        if not deleted:
            raise NotFound(f"Service {ServiceName} has no redeploy schedule.", code="InvalidSchedule.NotFound")
        return api_response(request, {"Message": f"Redeploy schedule of {ServiceName} deleted"})
