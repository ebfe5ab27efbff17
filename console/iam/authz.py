"""The one authorization entry point: who is calling (`Principal`) and may they do an operation.

Pattern for API views (see also `console.iam.api.permissions`):

1. Declare `eas_operations = {"GET": "ListServices", "POST": "CreateService"}` and use
   `EasOperationPermission`; collection operations (list/create) are authorized there against the
   tenant's collection ARN.
2. For one object, look it up inside the caller's tenant only
   (`Model.objects.filter(account=principal.account, ...)`), answer NotFound when missing (another
   tenant's object is "missing" too), then `authorize(principal, op, service_arn(...))`.

Resources are named `acs:eas:<region>:<account uid>:service/<name>` and
`acs:eas:<region>:<account uid>:resourcegroup/<id>`. A main account may do everything inside its
own tenant; a RAM user needs every permission point of the operation allowed by an attached
policy (explicit Deny wins); nobody acts on another tenant's resources. RAM management (`ram:`
points) is reserved to the main account.
"""
import functools

from django.conf import settings

from console.iam import policies
from console.iam.errors import Forbidden, Unauthorized
from console.iam.models import AccessKey, Account

EDIT = "eas:EditInstance"
LIST = "eas:ListInstance"
READ = "eas:ReadInstance"
OPERATE = "eas:OperateInstance"
LIST_RG = "eas:ListResourceGroup"
READ_RG = "eas:ReadResourceGroup"
OPERATE_RG = "eas:OperateResourceGroup"
FINANCE = policies.FINANCE_PERMISSION

# Operation (EAS OpenAPI name) -> permission points it needs, all of them.
# An empty tuple means any authenticated caller may do it (public catalogue data).
OPERATIONS: dict[str, tuple[str, ...]] = {
    # Services
    "CreateService": (EDIT,),
    "CloneService": (EDIT,),
    "ListServices": (LIST,),
    "DescribeService": (READ,),
    "UpdateService": (EDIT,),
    "UpdateServiceVersion": (EDIT,),
    "ListServiceVersions": (READ,),
    "StartService": (OPERATE,),
    "StopService": (OPERATE,),
    "RestartService": (OPERATE,),
    "DeleteService": (EDIT,),
    "ReleaseService": (OPERATE,),
    "CommitService": (EDIT,),
    "DevelopService": (EDIT,),
    "ListServiceInstances": (READ,),
    "DeleteServiceInstances": (OPERATE,),
    "UpdateServiceInstance": (OPERATE,),
    "ListServiceContainers": (READ,),
    "DescribeServiceEvent": (READ,),
    "DescribeServiceLog": (READ,),
    "DescribeServiceEndpoints": (READ,),
    "DescribeServiceSchedule": (READ,),
    "UpdateServiceSchedule": (EDIT,),
    "DeleteServiceSchedule": (EDIT,),
    "DescribeServiceDiagnosis": (READ,),
    "DescribeServiceInstanceDiagnosis": (READ,),
    "DescribeServiceSignedUrl": (READ,),
    "InvokeService": (READ,),
    "DescribeServiceMonitoring": (READ,),
    "CreateServiceAutoScaler": (EDIT,),
    "DescribeServiceAutoScaler": (READ,),
    "UpdateServiceAutoScaler": (EDIT,),
    "DeleteServiceAutoScaler": (EDIT,),
    "CreateServiceCronScaler": (EDIT,),
    "DescribeServiceCronScaler": (READ,),
    "UpdateServiceCronScaler": (EDIT,),
    "DeleteServiceCronScaler": (EDIT,),
    "CreateServiceMirror": (OPERATE,),
    "DescribeServiceMirror": (READ,),
    "UpdateServiceMirror": (OPERATE,),
    "DeleteServiceMirror": (OPERATE,),
    "UpdateServiceLabel": (EDIT,),
    "DeleteServiceLabel": (EDIT,),
    "UpdateServiceSafetyLock": (EDIT,),
    "ListGroups": (LIST,),
    "DescribeGroup": (READ,),
    "DescribeGroupEndpoints": (READ,),
    "UploadModel": (EDIT,),
    "ListModels": (LIST,),
    "DeleteModel": (EDIT,),
    # Resource groups
    "ListResources": (LIST_RG,),
    "CreateResource": (OPERATE_RG, FINANCE),
    "DescribeResource": (READ_RG,),
    "UpdateResource": (OPERATE_RG,),
    "DeleteResource": (OPERATE_RG,),
    "ListResourceInstances": (READ_RG,),
    "CreateResourceInstances": (OPERATE_RG,),
    "DeleteResourceInstances": (OPERATE_RG,),
    "UpdateResourceInstance": (OPERATE_RG,),
    "ListResourceInstanceWorker": (READ_RG,),
    "UpdateResourceInstanceLabel": (OPERATE_RG,),
    "DeleteResourceInstanceLabel": (OPERATE_RG,),
    "ListResourceServices": (READ_RG,),
    "DescribeResourceDLink": (READ_RG,),
    "CreateResourceDLink": (OPERATE_RG,),
    "UpdateResourceDLink": (OPERATE_RG,),
    "DeleteResourceDLink": (OPERATE_RG,),
    "DescribeResourceLog": (READ_RG,),
    "CreateResourceLog": (OPERATE_RG,),
    "UpdateResourceLog": (OPERATE_RG,),
    "DeleteResourceLog": (OPERATE_RG,),
    "RenewResource": (OPERATE_RG, FINANCE),
    "PayResourceOrder": (FINANCE,),
    "ListResourceOrders": (READ_RG,),
    "DescribeResourceOrder": (READ_RG,),
    # Public catalogue: authentication only.
    "DescribeRegions": (),
    "DescribeMachineSpec": (),
    # RAM itself: main account only, whatever a RAM user's policies say.
    "ListUsers": ("ram:ListUsers",),
    "CreateUser": ("ram:CreateUser",),
    "GetUser": ("ram:GetUser",),
    "UpdateUser": ("ram:UpdateUser",),
    "DeleteUser": ("ram:DeleteUser",),
    "ListAccessKeys": ("ram:ListAccessKeys",),
    "CreateAccessKey": ("ram:CreateAccessKey",),
    "UpdateAccessKey": ("ram:UpdateAccessKey",),
    "DeleteAccessKey": ("ram:DeleteAccessKey",),
    "ListPolicies": ("ram:ListPolicies",),
    "CreatePolicy": ("ram:CreatePolicy",),
    "GetPolicy": ("ram:GetPolicy",),
    "UpdatePolicy": ("ram:UpdatePolicy",),
    "DeletePolicy": ("ram:DeletePolicy",),
    "ListPoliciesForUser": ("ram:ListPoliciesForUser",),
    "AttachPolicyToUser": ("ram:AttachPolicyToUser",),
    "DetachPolicyFromUser": ("ram:DetachPolicyFromUser",),
    "ListAuditLogs": ("ram:ListAuditLogs",),
}

# Operations on the tenant's collection rather than one object: EasOperationPermission authorizes
# them itself; every other operation is authorized by the view after its tenant-scoped lookup.
COLLECTION_OPERATIONS = frozenset(
    {"CreateService", "ListServices", "ListGroups", "ListResources", "CreateResource",
     "DescribeRegions", "DescribeMachineSpec"}
    | {op for op, points in OPERATIONS.items() if points and points[0].startswith("ram:")}
)


class Principal:
    """The caller of a request: a main account or one of its RAM users, by session or AccessKey.

    `checks` lists each (operation, resource, allowed) decision taken for this request, which the
    audit log uses to name what a write was about.
    """

    def __init__(self, account: Account, user, ram_user=None, access_key=None):
        self.account = account
        self.user = user
        self.ram_user = ram_user
        self.access_key = access_key
        self.checks: list[tuple[str, str, bool]] = []

    @property
    def is_main_account(self) -> bool:
        return self.ram_user is None

    @property
    def display_name(self) -> str:
        if self.is_main_account:
            return self.account.name
        return self.ram_user.login_name

    @functools.cached_property
    def statements(self) -> list[policies.Statement]:
        """Statements of every policy attached to the RAM user (loaded once per principal)."""
        if self.ram_user is None:
            return []
        statements = []
        for attachment in self.ram_user.attachments.select_related("policy"):
            statements += policies.statements_of(attachment.policy.document, attachment.policy.name)
        return statements

    def __repr__(self):
        return f"<Principal {self.display_name}>"


def principal_for_user(user, access_key=None) -> Principal:
    """The principal a Django user acts as (console session, websocket scope or AccessKey owner)."""
    if user is None or not user.is_authenticated or not user.is_active:
        raise Unauthorized()
    account = getattr(user, "main_account", None)
    if account is not None:
        return Principal(account, user, access_key=access_key)
    ram_user = getattr(user, "ram_user", None)
    if ram_user is not None:
        return Principal(ram_user.account, user, ram_user=ram_user, access_key=access_key)
    raise Unauthorized("The signed-in user belongs to no account.")


def principal_of(request) -> Principal:
    """The principal of a DRF or Django request, resolved once and kept on the Django request."""
    django_request = getattr(request, "_request", request)
    principal = getattr(django_request, "eas_principal", None)
    if principal is None:
        access_key = getattr(request, "auth", None)
        principal = principal_for_user(
            request.user, access_key if isinstance(access_key, AccessKey) else None
        )
        django_request.eas_principal = principal
    return principal


def _region(region: str | None) -> str:
    return region or settings.EAS_REGION


def service_arn(account: Account, name: str, region: str | None = None) -> str:
    return f"acs:eas:{_region(region)}:{account.uid}:service/{name}"


def resourcegroup_arn(account: Account, group_id: str, region: str | None = None) -> str:
    return f"acs:eas:{_region(region)}:{account.uid}:resourcegroup/{group_id}"


def ram_arn(account: Account, kind: str, name: str) -> str:
    """Name of a RAM object (`user/<name>`, `policy/<name>`, `accesskey/<id>`) for the audit log."""
    return f"acs:ram::{account.uid}:{kind}/{name}"


def _collection_arn(principal: Principal, points: tuple[str, ...]) -> str:
    """`*` made concrete: every resource of the operation's kind in the caller's tenant."""
    if any(p.endswith("ResourceGroup") for p in points):
        return resourcegroup_arn(principal.account, "*")
    if any(p.endswith("Instance") for p in points):
        return service_arn(principal.account, "*")
    return "*"


def _arn_account(arn: str) -> str | None:
    parts = arn.split(":", 4)
    return parts[3] if len(parts) == 5 and parts[0] == "acs" else None


def _decide(principal: Principal, operation: str, resource_arn: str) -> tuple[str, str | None]:
    """(resource, reason): reason is None when allowed, else why not."""
    try:
        points = OPERATIONS[operation]
    except KeyError:
        raise ValueError(f"Unknown operation {operation!r}; add it to console.iam.authz.OPERATIONS") from None
    arn = _collection_arn(principal, points) if resource_arn == "*" else resource_arn
    if arn != "*" and _arn_account(arn) != principal.account.uid:
        return arn, f"{arn} does not belong to account {principal.account.uid}"
    if principal.is_main_account:
        return arn, None
    for point in points:
        if point.startswith("ram:"):
            return arn, f"only the main account may perform {point}"
        decision = policies.evaluate(principal.statements, point, arn)
        if decision is None:
            return arn, f"no policy allows {point} on {arn}"
        if decision.effect == "Deny":
            return arn, f"policy '{decision.policy}' explicitly denies {point} on {arn}"
    return arn, None


def authorize(principal: Principal, operation: str, resource_arn: str = "*") -> None:
    """Raise Forbidden unless `principal` may perform `operation` on `resource_arn`.

    `resource_arn="*"` means the operation's whole collection in the caller's tenant (used for
    list and create); pass the object's ARN for anything done to one object.
    """
    arn, reason = _decide(principal, operation, resource_arn)
    principal.checks.append((operation, arn, reason is None))
    if reason is not None:
        raise Forbidden(f"{principal.display_name} is not authorized to perform {operation}: {reason}.")


def is_allowed(principal: Principal, operation: str, resource_arn: str = "*") -> bool:
    """Whether `authorize` would pass; for showing or hiding actions in pages."""
    return _decide(principal, operation, resource_arn)[1] is None
