"""Request and response bodies in the EAS 2021-07-01 shape (the SDK's models.py names the keys)."""
import json

from rest_framework import serializers

from resourcegroups import catalog
from resourcegroups.models import ChargeType, Machine, ResourceGroup

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def Time(source: str):  # noqa: N802 - reads like the other field classes
    return serializers.DateTimeField(source=source, format=TIME_FORMAT, read_only=True)


# Requests ----------------------------------------------------------------------------------------

class CreateResourceSerializer(serializers.Serializer):
    ResourceType = serializers.ChoiceField(choices=["Dedicated"], default="Dedicated", error_messages={
        "invalid_choice": "Only Dedicated resource groups can be created here."})
    ChargeType = serializers.ChoiceField(choices=ChargeType.values)
    EcsInstanceType = serializers.CharField()
    EcsInstanceCount = serializers.IntegerField()
    AutoRenewal = serializers.BooleanField(default=False)
    # Extensions: the purchase period of a prepaid group (the SDK's request has none), its region
    # (default: this installation's) and a name (default: the group id).
    Period = serializers.IntegerField(default=1)
    PeriodUnit = serializers.ChoiceField(choices=["Month", "Year"], default="Month")
    ClusterId = serializers.CharField(required=False)
    ResourceName = serializers.CharField(required=False)


class CreateResourceInstancesSerializer(serializers.Serializer):
    ChargeType = serializers.ChoiceField(choices=ChargeType.values)
    EcsInstanceCount = serializers.IntegerField()
    EcsInstanceType = serializers.CharField(required=False)


class UpdateResourceSerializer(serializers.Serializer):
    ResourceName = serializers.CharField(required=False)
    # Extensions: auto-renewal of a prepaid group, and the machine count of a postpaid group
    # (扩容 / 缩容 / 停用 with 0).
    AutoRenewal = serializers.BooleanField(required=False)
    EcsInstanceCount = serializers.IntegerField(required=False)


class RenewResourceSerializer(serializers.Serializer):
    Period = serializers.IntegerField(default=1)
    PeriodUnit = serializers.ChoiceField(choices=["Month", "Year"], default="Month")


# Responses ---------------------------------------------------------------------------------------

def extra_data(group: ResourceGroup) -> dict:
    return {
        "ChargeType": group.charge_type,
        "InstanceType": group.machine_type,
        "AutoRenewal": group.auto_renew,
        "ExpiredTime": group.expires_at.strftime(TIME_FORMAT) if group.expires_at else None,
        "StopReason": group.stop_reason,
        "TemporaryInstanceCount": group.temporary_count,
        "DirectConnection": group.direct_connection_enabled,
    }


class ResourceSerializer(serializers.Serializer):
    """`Resource` of ListResources; the queryset comes from `groups.with_usage`."""

    ClusterId = serializers.CharField(source="region")
    ResourceId = serializers.CharField(source="group_id")
    ResourceName = serializers.CharField(source="name")
    ResourceType = serializers.CharField(source="kind")
    OwnerUid = serializers.CharField(source="account.uid", default="")
    Status = serializers.CharField(source="status")
    Message = serializers.CharField(source="message")
    CpuCount = serializers.IntegerField(source="cpu_count")
    GpuCount = serializers.IntegerField(source="gpu_count")
    InstanceCount = serializers.IntegerField(source="instance_count")
    PrePaidInstanceCount = serializers.IntegerField(source="prepaid_count")
    PostPaidInstanceCount = serializers.IntegerField(source="postpaid_count")
    CreateTime = Time("created")
    UpdateTime = Time("updated")
    ExtraData = serializers.SerializerMethodField()

    def get_ExtraData(self, group):  # noqa: N802
        return extra_data(group)


class ResourceDetailSerializer(ResourceSerializer):
    """DescribeResourceResponseBody (ExtraData is a JSON string there)."""

    CpuUsed = serializers.SerializerMethodField()
    GpuUsed = serializers.FloatField(source="gpu_used")
    Memory = serializers.IntegerField(source="memory_mb")
    MemoryUsed = serializers.IntegerField(source="memory_used_mb")

    def get_CpuUsed(self, group):  # noqa: N802
        return round(group.cpu_used)

    def get_ExtraData(self, group):  # noqa: N802
        return json.dumps(extra_data(group))


class InstanceSerializer(serializers.Serializer):
    """`ResourceInstance`: one machine of a group (the console's 机器列表)."""

    InstanceId = serializers.CharField(source="instance_id")
    InstanceName = serializers.CharField(source="name")
    InstanceIp = serializers.CharField(source="ip")
    InstanceStatus = serializers.SerializerMethodField()
    InstanceType = serializers.CharField(source="shown_type")
    ChargeType = serializers.CharField(source="charge_type")
    InstanceCpuCount = serializers.IntegerField(source="cpu")
    InstanceMemory = serializers.SerializerMethodField()
    InstanceGpuCount = serializers.IntegerField(source="gpu")
    InstanceGpuMemory = serializers.SerializerMethodField()
    InstanceUsedCpu = serializers.FloatField(source="cpu_used")
    InstanceUsedMemory = serializers.SerializerMethodField()
    InstanceUsedGpu = serializers.SerializerMethodField()
    CreateTime = Time("assigned_at")
    ExpiredTime = serializers.SerializerMethodField()
    AutoRenewal = serializers.SerializerMethodField()
    Region = serializers.CharField(source="region")
    ResourceId = serializers.CharField(source="group.group_id")
    Arch = serializers.SerializerMethodField()
    Labels = serializers.SerializerMethodField()
    # Extensions: formal or temporary (临时) machine, and when its agent last reported.
    Temporary = serializers.BooleanField(source="temporary")
    LastHeartbeat = Time("last_heartbeat")

    def get_InstanceStatus(self, machine: Machine):  # noqa: N802
        return machine.status if machine.group.is_running else "Stopped"

    def get_InstanceMemory(self, machine):  # noqa: N802
        return f"{machine.memory_mb}M"

    def get_InstanceUsedMemory(self, machine):  # noqa: N802
        return f"{machine.memory_used_mb}M"

    def get_InstanceGpuMemory(self, machine):  # noqa: N802
        spec = catalog.machine_type(machine.shown_type)
        return f"{spec['gpu_memory_gb'] * machine.gpu}GB" if spec and machine.gpu else "0GB"

    def get_InstanceUsedGpu(self, machine):  # noqa: N802
        return round(machine.gpu * machine.gpu_utilization / 100, 2)

    def get_ExpiredTime(self, machine):  # noqa: N802
        expires = machine.group.expires_at if machine.charge_type == ChargeType.PREPAID or machine.temporary else None
        return expires.strftime(TIME_FORMAT) if expires else None

    def get_AutoRenewal(self, machine):  # noqa: N802
        return machine.group.auto_renew and not machine.temporary

    def get_Arch(self, machine):  # noqa: N802
        return "x86_64"

    def get_Labels(self, machine):  # noqa: N802
        return []


class ServiceSerializer(serializers.Serializer):
    """A service of ListResourceServices, from whatever the services app registered (see hooks)."""

    ServiceName = serializers.CharField(source="name")
    ServiceId = serializers.CharField(source="pk")
    Region = serializers.CharField(source="region")
    Status = serializers.CharField(source="status")
    CreateTime = Time("created")
    UpdateTime = Time("updated")


class OrderSerializer(serializers.Serializer):
    OrderId = serializers.CharField(source="order_id")
    OrderType = serializers.CharField(source="kind")
    Status = serializers.CharField(source="status")
    ResourceId = serializers.CharField(source="resource_id")
    ClusterId = serializers.CharField(source="region")
    ChargeType = serializers.CharField(source="charge_type")
    EcsInstanceType = serializers.CharField(source="machine_type")
    EcsInstanceCount = serializers.IntegerField(source="count")
    PeriodMonths = serializers.IntegerField(source="months")
    Amount = serializers.DecimalField(source="amount", max_digits=14, decimal_places=2, coerce_to_string=True)
    Reason = serializers.CharField(source="reason")
    RefundOf = serializers.CharField(source="refund_of.order_id", default=None)
    RefundOrderIds = serializers.SerializerMethodField()
    InstanceIds = serializers.ListField(source="instance_ids")
    CreateTime = Time("created")
    FinishTime = Time("finished")

    def get_RefundOrderIds(self, order):  # noqa: N802
        return [r.order_id for r in order.refunds.all()]


class DirectLinkSerializer(serializers.Serializer):
    """DescribeResourceDLinkResponseBody."""

    VpcId = serializers.CharField(source="vpc_id")
    VSwitchId = serializers.CharField(source="vswitch_id")
    SecurityGroupId = serializers.CharField(source="security_group_id")
    AuxVSwitchList = serializers.ListField(source="aux_vswitch_ids")
    DestinationCIDRs = serializers.SerializerMethodField()

    def get_DestinationCIDRs(self, link):  # noqa: N802
        return ",".join(link.destination_cidrs)
