"""Resource-group operations of the EAS 2021-07-01 API, authorized through the RAM entry point.

Objects are looked up inside the caller's tenant only (another tenant's group reads as missing),
then authorized against the group's ARN. Buying (CreateResource, CreateResourceInstances,
RenewResource) also needs the finance permission of AliyunFinanceConsoleFullAccess.
"""
from django.conf import settings
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from console.iam import audit
from console.iam.api.permissions import EasOperationPermission, authorized_object
from console.iam.api.responses import api_response
from console.iam.authz import authorize, principal_of
from console.iam.errors import InvalidParameter, NotFound
from resourcegroups import billing, catalog, dlink, groups, hooks, orders, policy, scaling
from resourcegroups.api import serializers as s
from resourcegroups.models import DirectLink, Machine, Order, Price, ResourceGroup

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
SORT_FIELDS = {
    "CreateTime": "created", "CpuCount": "cpu_count", "GpuCount": "gpu_count", "Memory": "memory_mb",
    "CpuUsed": "cpu_used", "GpuUsed": "gpu_used", "MemoryUsed": "memory_used_mb",
    "PrePaidInstanceCount": "prepaid_count", "PostPaidInstanceCount": "postpaid_count",
}


def operation(name: str, request=None):
    """The OpenAPI description of a method: the EAS operation name as its id."""
    return extend_schema(operation_id=name, request=request, responses=OpenApiTypes.OBJECT)


def _positive_int(request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= maximum:
        raise InvalidParameter(f"{name} must be an integer from 1 to {maximum}.", code=f"InvalidParameter.{name}")
    return value


def paginate(request, queryset, serializer_class, key: str) -> dict:
    """One page of `queryset` as the SDK's list bodies carry it (PageNumber, PageSize, TotalCount)."""
    number = _positive_int(request, "PageNumber", 1, 10**6)
    size = _positive_int(request, "PageSize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    total = len(queryset) if isinstance(queryset, list) else queryset.count()
    items = queryset[(number - 1) * size:number * size]
    return {key: serializer_class(items, many=True).data, "PageNumber": number, "PageSize": size,
            "TotalCount": total}


def validated(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def group_of(request, cluster_id: str, resource_id: str) -> ResourceGroup:
    """The caller's dedicated group in `cluster_id`, authorized for the request's operation."""
    queryset = groups.with_usage(groups.dedicated_groups(principal_of(request).account)
                                 .filter(region=cluster_id, group_id=resource_id))
    return authorized_object(request, queryset, lambda g: g.arn, groups.not_found(resource_id))


class ResourceListView(APIView):
    permission_classes = [EasOperationPermission]
    eas_operations = {"GET": "ListResources", "POST": "CreateResource"}

    @operation("ListResources")
    def get(self, request):
        queryset = groups.with_usage(groups.dedicated_groups(principal_of(request).account))
        params = request.query_params
        if params.get("ResourceId"):
            queryset = queryset.filter(group_id=params["ResourceId"])
        if params.get("ResourceName"):
            queryset = queryset.filter(name__icontains=params["ResourceName"])
        if params.get("ResourceStatus"):
            queryset = queryset.filter(status=params["ResourceStatus"])
        if params.get("ResourceType") and params["ResourceType"] != ResourceGroup.Kind.DEDICATED:
            queryset = queryset.none()
        field = SORT_FIELDS.get(params.get("Sort") or "CreateTime", "created")
        direction = "" if (params.get("Order") or "Desc").lower() == "asc" else "-"
        queryset = queryset.order_by(f"{direction}{field}", f"{direction}id")
        return api_response(request, paginate(request, queryset, s.ResourceSerializer, "Resources"))

    @operation("CreateResource", s.CreateResourceSerializer)
    def post(self, request):
        data = validated(s.CreateResourceSerializer, request.data)
        principal = principal_of(request)
        prepaid = data["ChargeType"] == "PrePaid"
        order = orders.buy(
            principal.account, region=data.get("ClusterId") or settings.EAS_REGION,
            charge_type=data["ChargeType"], machine_type=data["EcsInstanceType"],
            count=data["EcsInstanceCount"], auto_renew=data["AutoRenewal"],
            months=orders.months_of(data["Period"], data["PeriodUnit"]) if prepaid else 0,
            name=data.get("ResourceName", ""),
        )
        group = order.group
        audit.set_target(request, group.arn)
        return api_response(request, {
            "ClusterId": group.region, "ResourceId": group.group_id, "ResourceName": group.name,
            "OwnerUid": principal.account.uid, "InstanceIds": [], "OrderId": order.order_id,
        })


class ResourceDetailView(APIView):
    permission_classes = [EasOperationPermission]
    eas_operations = {"GET": "DescribeResource", "PUT": "UpdateResource", "DELETE": "DeleteResource"}

    @operation("DescribeResource")
    def get(self, request, ClusterId, ResourceId):  # noqa: N803 - the SDK's path parameter names
        return api_response(request, s.ResourceDetailSerializer(group_of(request, ClusterId, ResourceId)).data)

    @operation("UpdateResource", s.UpdateResourceSerializer)
    @transaction.atomic
    def put(self, request, ClusterId, ResourceId):  # noqa: N803
        group = group_of(request, ClusterId, ResourceId)
        data = validated(s.UpdateResourceSerializer, request.data)
        body = {}
        if "ResourceName" in data:
            groups.rename(group, data["ResourceName"])
        if "AutoRenewal" in data:
            if not group.is_prepaid:
                raise InvalidParameter("Only prepaid resource groups renew automatically.",
                                       code="InvalidParameter.AutoRenewal")
            group.auto_renew = data["AutoRenewal"]
            group.save(update_fields=["auto_renew", "updated"])
        if "EcsInstanceCount" in data:
            body["OrderId"] = scaling.scale_postpaid(group, data["EcsInstanceCount"]).order_id
        return api_response(request, {"ResourceId": group.group_id, "ResourceName": group.name, **body})

    @operation("DeleteResource")
    def delete(self, request, ClusterId, ResourceId):  # noqa: N803
        group = group_of(request, ClusterId, ResourceId)
        groups.delete(group)
        return api_response(request, {"Message": f"Resource group {ResourceId} is deleted."})


class ResourceInstancesView(APIView):
    permission_classes = [EasOperationPermission]
    eas_operations = {"GET": "ListResourceInstances", "POST": "CreateResourceInstances",
                      "DELETE": "DeleteResourceInstances"}

    @operation("ListResourceInstances")
    def get(self, request, ClusterId, ResourceId):  # noqa: N803
        group = group_of(request, ClusterId, ResourceId)
        queryset = Machine.objects.filter(group=group).select_related("group").order_by("assigned_at", "pk")
        params = request.query_params
        filters = {"ChargeType": "charge_type", "InstanceName": "name", "InstanceId": "instance_id",
                   "InstanceIP": "ip", "InstanceStatus": "status"}
        for param, field in filters.items():
            if params.get(param):
                queryset = queryset.filter(**{field: params[param]})
        if params.get("Filter"):
            keyword = params["Filter"]
            queryset = queryset.filter(instance_id__icontains=keyword) | queryset.filter(ip__icontains=keyword)
        return api_response(request, paginate(request, queryset, s.InstanceSerializer, "Instances"))

    @operation("CreateResourceInstances", s.CreateResourceInstancesSerializer)
    def post(self, request, ClusterId, ResourceId):  # noqa: N803
        group = group_of(request, ClusterId, ResourceId)
        authorize(principal_of(request), "PayResourceOrder", group.arn)
        data = validated(s.CreateResourceInstancesSerializer, request.data)
        if data.get("EcsInstanceType", group.machine_type) != group.machine_type:
            raise InvalidParameter(f"Resource group {group.group_id} holds {group.machine_type} machines only.",
                                   code="InvalidParameter.EcsInstanceType")
        order = orders.add_machines(group, count=data["EcsInstanceCount"], charge_type=data["ChargeType"])
        return api_response(request, {"InstanceIds": [], "OrderId": order.order_id,
                                      "Message": f"Order {order.order_id} placed for {order.count} machines."})

    @operation("DeleteResourceInstances")
    def delete(self, request, ClusterId, ResourceId):  # noqa: N803
        group = group_of(request, ClusterId, ResourceId)
        params = request.query_params
        instance_ids = [i.strip() for i in (params.get("InstanceList") or "").split(",") if i.strip()]
        if (params.get("AllFailed") or "").lower() == "true":
            failed = group.machines.filter(status=Machine.Status.NOT_READY)
            if group.is_prepaid:
                failed = failed.filter(temporary=True)
            instance_ids += list(failed.values_list("instance_id", flat=True))
        order = scaling.remove_machines(group, instance_ids)
        return api_response(request, {"OrderId": order.order_id,
                                      "Message": f"Released {order.count} machines: {', '.join(order.instance_ids)}."})


class ResourceServicesView(APIView):
    permission_classes = [EasOperationPermission]
    eas_operations = {"GET": "ListResourceServices"}

    @operation("ListResourceServices")
    def get(self, request, ClusterId, ResourceId):  # noqa: N803
        group = group_of(request, ClusterId, ResourceId)
        return api_response(request, paginate(request, hooks.services_of(group), s.ServiceSerializer, "Services"))


class ResourceDLinkView(APIView):
    permission_classes = [EasOperationPermission]
    eas_operations = {"GET": "DescribeResourceDLink", "POST": "CreateResourceDLink",
                      "PUT": "UpdateResourceDLink", "DELETE": "DeleteResourceDLink"}

    @operation("DescribeResourceDLink")
    def get(self, request, ClusterId, ResourceId):  # noqa: N803
        group = group_of(request, ClusterId, ResourceId)
        link = DirectLink.objects.filter(group=group).first()
        if link is None:
            body = {"VpcId": "", "VSwitchId": "", "SecurityGroupId": "", "AuxVSwitchList": [], "DestinationCIDRs": ""}
        else:
            body = s.DirectLinkSerializer(link).data
        return api_response(request, body)

    @staticmethod
    def _answer(request, warnings: list[str], done: str):
        message = " ".join([done, *(f"Warning: {w}" for w in warnings)])
        return api_response(request, {"Message": message, "Warnings": warnings})

    @operation("CreateResourceDLink", OpenApiTypes.OBJECT)
    def post(self, request, ClusterId, ResourceId):  # noqa: N803
        _, warnings = dlink.create(group_of(request, ClusterId, ResourceId), request.data)
        return self._answer(request, warnings, "VPC direct connection created.")

    @operation("UpdateResourceDLink", OpenApiTypes.OBJECT)
    def put(self, request, ClusterId, ResourceId):  # noqa: N803
        _, warnings = dlink.update(group_of(request, ClusterId, ResourceId), request.data)
        return self._answer(request, warnings, "VPC direct connection updated.")

    @operation("DeleteResourceDLink")
    def delete(self, request, ClusterId, ResourceId):  # noqa: N803
        dlink.delete(group_of(request, ClusterId, ResourceId))
        return api_response(request, {"Message": "VPC direct connection deleted."})


class ResourceRenewView(APIView):
    """Extension (the SDK has no renewal): 服务续费 of a prepaid group."""

    permission_classes = [EasOperationPermission]
    eas_operations = {"POST": "RenewResource"}

    @operation("RenewResource", s.RenewResourceSerializer)
    def post(self, request, ClusterId, ResourceId):  # noqa: N803
        group = group_of(request, ClusterId, ResourceId)
        data = validated(s.RenewResourceSerializer, request.data)
        order = orders.renew(group, orders.months_of(data["Period"], data["PeriodUnit"]))
        group.refresh_from_db()
        return api_response(request, {"OrderId": order.order_id, "ResourceId": group.group_id,
                                      "ExpiredTime": group.expires_at.strftime(s.TIME_FORMAT)})


class ResourceOrderListView(APIView):
    """Extension: the orders of a group (purchases, scaling, renewals, refunds), newest first."""

    permission_classes = [EasOperationPermission]
    eas_operations = {"GET": "ListResourceOrders"}

    @operation("ListResourceOrders")
    def get(self, request, ClusterId, ResourceId):  # noqa: N803
        group = group_of(request, ClusterId, ResourceId)
        queryset = Order.objects.filter(group=group).select_related("refund_of").prefetch_related("refunds")
        return api_response(request, paginate(request, queryset, s.OrderSerializer, "Orders"))


class ResourceOrderDetailView(APIView):
    permission_classes = [EasOperationPermission]
    eas_operations = {"GET": "DescribeResourceOrder"}

    @operation("DescribeResourceOrder")
    def get(self, request, ClusterId, ResourceId, OrderId):  # noqa: N803
        group = group_of(request, ClusterId, ResourceId)
        order = Order.objects.filter(group=group, order_id=OrderId).first()
        if order is None:
            raise NotFound(f"Order {OrderId} does not exist.", code="OrderNotFound")
        return api_response(request, s.OrderSerializer(order).data)


class MachineSpecView(APIView):
    """DescribeMachineSpec: the catalog's types, their stock in the free inventory and prices."""

    permission_classes = [EasOperationPermission]
    eas_operations = {"GET": "DescribeMachineSpec"}

    @operation("DescribeMachineSpec")
    def get(self, request):
        wanted = {t.strip() for t in (request.query_params.get("InstanceTypes") or "").split(",") if t.strip()}
        prices = {(p.machine_type, p.kind): str(p.unit_price) for p in Price.objects.all()}
        metas = []
        for spec in catalog.MACHINE_TYPES:
            if wanted and spec["name"] not in wanted:
                continue
            stock = orders.stock(settings.EAS_REGION, spec["name"])
            metas.append({
                "InstanceType": spec["name"], "CPU": spec["cpu"], "Memory": spec["memory_gb"],
                "GPU": spec["gpu_model"] or None, "GPUAmount": spec["gpu"], "GPUMemory": spec["gpu_memory_gb"],
                "IsAvailable": stock > 0, "StockStatus": "WithStock" if stock else "NoStock", "Vendor": "ECS",
                # Extensions: the seed's prepaid/postpaid-only markers, free machines, unit prices.
                "ChargeTypes": list(spec["charge_types"]), "AvailableCount": stock,
                "PrePaidMonthPrice": prices.get((spec["name"], Price.Kind.PREPAID_MONTH)),
                "PostPaidHourPrice": prices.get((spec["name"], Price.Kind.POSTPAID_HOUR)),
            })
        # The public group's sizes: 1-100 Quota of 1 core + 4 GB (memory in MB).
        types = [{"CPU": cpu, "Memory": [memory]} for cpu, memory in
                 map(policy.quota_resources, range(billing.MIN_QUOTA, billing.MAX_QUOTA + 1))]
        return api_response(request, {"InstanceMetas": metas, "Types": types})
