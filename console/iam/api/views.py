"""RAM API: RAM users, AccessKeys, policies and their attachments, and the audit log.

All of it is reserved to the main account (the `ram:` permission points, see authz).
"""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from console.iam import accesskeys, accounts, audit, policies
from console.iam.api import serializers as s
from console.iam.api.permissions import EasOperationPermission
from console.iam.api.responses import api_response
from console.iam.authz import principal_of, ram_arn
from console.iam.errors import NotFound
from console.iam.models import AccessKey, AuditEntry, RamUser


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def ram_user_of(principal, name: str) -> RamUser:
    ram_user = (RamUser.objects.select_related("user", "account")
                .filter(account=principal.account, name=name).first())
    if ram_user is None:
        raise NotFound(f"RAM user {name} does not exist.", code="EntityNotExist.User")
    return ram_user


def access_key_of(principal, access_key_id: str) -> AccessKey:
    access_key = (AccessKey.objects.select_related("user")
                  .filter(account=principal.account, access_key_id=access_key_id).first())
    if access_key is None:
        raise NotFound(f"AccessKey {access_key_id} does not exist.", code="EntityNotExist.User.AccessKey")
    return access_key


class RamView(APIView):
    permission_classes = [EasOperationPermission]


class UserListView(RamView):
    eas_operations = {"GET": "ListUsers", "POST": "CreateUser"}

    @extend_schema(operation_id="ListUsers", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        users = RamUser.objects.select_related("user", "account").filter(account=principal_of(request).account)
        data = [s.user_data(u) for u in users]
        return api_response(request, {"Users": data, "TotalCount": len(data)})

    @extend_schema(operation_id="CreateUser", request=s.CreateUserRequest, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        principal = principal_of(request)
        body = _valid(s.CreateUserRequest, request.data)
        audit.set_target(request, ram_arn(principal.account, "user", body["UserName"]))
        ram_user = accounts.create_ram_user(
            principal.account, body["UserName"], display_name=body["DisplayName"],
            comments=body["Comments"], password=body.get("Password") or None,
        )
        return api_response(request, {"User": s.user_data(ram_user)})


class UserDetailView(RamView):
    eas_operations = {"GET": "GetUser", "PUT": "UpdateUser", "DELETE": "DeleteUser"}

    @extend_schema(operation_id="GetUser", responses=OpenApiTypes.OBJECT)
    def get(self, request, UserName):
        ram_user = ram_user_of(principal_of(request), UserName)
        return api_response(request, {"User": {
            **s.user_data(ram_user),
            "AccessKeys": [s.access_key_data(k) for k in ram_user.user.access_keys.all()],
            "Policies": [s.policy_data(a.policy) for a in ram_user.attachments.select_related("policy")],
        }})

    @extend_schema(operation_id="UpdateUser", request=s.UpdateUserRequest, responses=OpenApiTypes.OBJECT)
    def put(self, request, UserName):
        principal = principal_of(request)
        audit.set_target(request, ram_arn(principal.account, "user", UserName))
        body = _valid(s.UpdateUserRequest, request.data)
        ram_user = accounts.update_ram_user(
            ram_user_of(principal, UserName), display_name=body.get("DisplayName"),
            comments=body.get("Comments"), password=body.get("Password"),
        )
        return api_response(request, {"User": s.user_data(ram_user)})

    @extend_schema(operation_id="DeleteUser", responses=OpenApiTypes.OBJECT)
    def delete(self, request, UserName):
        principal = principal_of(request)
        audit.set_target(request, ram_arn(principal.account, "user", UserName))
        accounts.delete_ram_user(ram_user_of(principal, UserName))
        return api_response(request, {"Message": f"RAM user {UserName} deleted."})


class UserPolicyListView(RamView):
    eas_operations = {"GET": "ListPoliciesForUser", "POST": "AttachPolicyToUser"}

    @extend_schema(operation_id="ListPoliciesForUser", responses=OpenApiTypes.OBJECT)
    def get(self, request, UserName):
        ram_user = ram_user_of(principal_of(request), UserName)
        data = [s.policy_data(a.policy) for a in ram_user.attachments.select_related("policy")]
        return api_response(request, {"Policies": data, "TotalCount": len(data)})

    @extend_schema(operation_id="AttachPolicyToUser", request=s.AttachPolicyRequest, responses=OpenApiTypes.OBJECT)
    def post(self, request, UserName):
        principal = principal_of(request)
        body = _valid(s.AttachPolicyRequest, request.data)
        audit.set_target(request, ram_arn(principal.account, "user", f"{UserName}/policy/{body['PolicyName']}"))
        ram_user = ram_user_of(principal, UserName)
        policy = policies.find_policy(principal.account, body["PolicyName"], body.get("PolicyType"))
        policies.attach(policy, ram_user)
        return api_response(request, {"Message": f"Policy {policy.name} attached to {UserName}."})


class UserPolicyDetailView(RamView):
    eas_operations = {"DELETE": "DetachPolicyFromUser"}

    @extend_schema(operation_id="DetachPolicyFromUser", responses=OpenApiTypes.OBJECT)
    def delete(self, request, UserName, PolicyName):
        principal = principal_of(request)
        audit.set_target(request, ram_arn(principal.account, "user", f"{UserName}/policy/{PolicyName}"))
        ram_user = ram_user_of(principal, UserName)
        policy = policies.find_policy(principal.account, PolicyName, request.query_params.get("PolicyType"))
        policies.detach(policy, ram_user)
        return api_response(request, {"Message": f"Policy {PolicyName} detached from {UserName}."})


class AccessKeyListView(RamView):
    """The main account's own AccessKeys, or a RAM user's with `UserName`."""

    eas_operations = {"GET": "ListAccessKeys", "POST": "CreateAccessKey"}

    def _owner(self, principal, user_name):
        return ram_user_of(principal, user_name) if user_name else principal.account

    @extend_schema(operation_id="ListAccessKeys", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        principal = principal_of(request)
        _, user = accesskeys.owner_of(self._owner(principal, request.query_params.get("UserName")))
        data = [s.access_key_data(k) for k in user.access_keys.select_related("user")]
        return api_response(request, {"AccessKeys": data, "TotalCount": len(data)})

    @extend_schema(operation_id="CreateAccessKey", request=s.CreateAccessKeyRequest, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        principal = principal_of(request)
        user_name = _valid(s.CreateAccessKeyRequest, request.data).get("UserName")
        audit.set_target(request, ram_arn(principal.account, "user", user_name or principal.account.name))
        access_key, secret = accesskeys.create_access_key(self._owner(principal, user_name))
        audit.set_target(request, ram_arn(principal.account, "accesskey", access_key.access_key_id))
        return api_response(request, {"AccessKey": {**s.access_key_data(access_key), "AccessKeySecret": secret}})


class AccessKeyDetailView(RamView):
    eas_operations = {"PUT": "UpdateAccessKey", "DELETE": "DeleteAccessKey"}

    @extend_schema(operation_id="UpdateAccessKey", request=s.UpdateAccessKeyRequest, responses=OpenApiTypes.OBJECT)
    def put(self, request, AccessKeyId):
        principal = principal_of(request)
        audit.set_target(request, ram_arn(principal.account, "accesskey", AccessKeyId))
        access_key = access_key_of(principal, AccessKeyId)
        access_key.status = _valid(s.UpdateAccessKeyRequest, request.data)["Status"]
        access_key.save(update_fields=["status"])
        return api_response(request, {"AccessKey": s.access_key_data(access_key)})

    @extend_schema(operation_id="DeleteAccessKey", responses=OpenApiTypes.OBJECT)
    def delete(self, request, AccessKeyId):
        principal = principal_of(request)
        audit.set_target(request, ram_arn(principal.account, "accesskey", AccessKeyId))
        access_key_of(principal, AccessKeyId).delete()
        return api_response(request, {"Message": f"AccessKey {AccessKeyId} deleted."})


class PolicyListView(RamView):
    eas_operations = {"GET": "ListPolicies", "POST": "CreatePolicy"}

    @extend_schema(operation_id="ListPolicies", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        found = policies.visible_policies(principal_of(request).account)
        if request.query_params.get("PolicyType"):
            found = found.filter(policy_type=request.query_params["PolicyType"])
        data = [s.policy_data(p) for p in found]
        return api_response(request, {"Policies": data, "TotalCount": len(data)})

    @extend_schema(operation_id="CreatePolicy", request=s.CreatePolicyRequest, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        principal = principal_of(request)
        body = _valid(s.CreatePolicyRequest, request.data)
        audit.set_target(request, ram_arn(principal.account, "policy", body["PolicyName"]))
        policy = policies.create_policy(
            principal.account, body["PolicyName"], body["PolicyDocument"], body["Description"])
        return api_response(request, {"Policy": s.policy_data(policy)})


class PolicyDetailView(RamView):
    eas_operations = {"GET": "GetPolicy", "PUT": "UpdatePolicy", "DELETE": "DeletePolicy"}

    def _policy(self, request, name):
        principal = principal_of(request)
        audit.set_target(request, ram_arn(principal.account, "policy", name))
        return policies.find_policy(principal.account, name, request.query_params.get("PolicyType"))

    @extend_schema(operation_id="GetPolicy", responses=OpenApiTypes.OBJECT)
    def get(self, request, PolicyName):
        return api_response(request, {"Policy": s.policy_data(self._policy(request, PolicyName))})

    @extend_schema(operation_id="UpdatePolicy", request=s.UpdatePolicyRequest, responses=OpenApiTypes.OBJECT)
    def put(self, request, PolicyName):
        body = _valid(s.UpdatePolicyRequest, request.data)
        policy = policies.update_policy(
            self._policy(request, PolicyName), document=body.get("PolicyDocument"),
            description=body.get("Description"),
        )
        return api_response(request, {"Policy": s.policy_data(policy)})

    @extend_schema(operation_id="DeletePolicy", responses=OpenApiTypes.OBJECT)
    def delete(self, request, PolicyName):
        policies.delete_policy(self._policy(request, PolicyName))
        return api_response(request, {"Message": f"Policy {PolicyName} deleted."})


class AuditLogListView(RamView):
    eas_operations = {"GET": "ListAuditLogs"}

    @extend_schema(operation_id="ListAuditLogs", parameters=[s.AuditLogQuery], responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = _valid(s.AuditLogQuery, request.query_params)
        entries = AuditEntry.objects.select_related("account").filter(account=principal_of(request).account)
        if query.get("Operation"):
            entries = entries.filter(operation=query["Operation"])
        if query.get("UserName"):
            entries = entries.filter(actor=query["UserName"])
        start = (query["PageNumber"] - 1) * query["PageSize"]
        page = entries[start:start + query["PageSize"]]
        return api_response(request, {
            "AuditLogs": [s.audit_data(e) for e in page],
            "TotalCount": entries.count(),
            "PageNumber": query["PageNumber"],
            "PageSize": query["PageSize"],
        })
