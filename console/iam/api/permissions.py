"""`EasOperationPermission`: every API view names its EAS operation per HTTP method.

How to protect a view::

    class ServiceListView(APIView):
        permission_classes = [EasOperationPermission]
        eas_operations = {"GET": "ListServices", "POST": "CreateService"}

    class ServiceDetailView(APIView):
        permission_classes = [EasOperationPermission]
        eas_operations = {"GET": "DescribeService", "DELETE": "DeleteService"}

        def get(self, request, ClusterId, ServiceName):
            service = authorized_object(
                request, Service.objects.filter(region=ClusterId, name=ServiceName),
                lambda s: service_arn(s.account, s.name, s.region),
                NotFound(f"Service {ServiceName} not found.", code="InvalidService.NotFound"),
            )

The permission class requires an authenticated principal (session or AccessKey), records the
operation for the audit log, and authorizes collection operations (list/create, see
`authz.COLLECTION_OPERATIONS`) against the tenant's collection. Operations on one object are
authorized after a lookup confined to the caller's tenant: `authorized_object` does both, and a
missing object (including another tenant's) is NotFound. Views using DRF's `get_object()` get the
same through `has_object_permission` when the model has an `arn` property.
"""
from rest_framework.permissions import BasePermission

from console.iam.authz import COLLECTION_OPERATIONS, authorize, principal_of
from console.iam.errors import ApiError


def operation_of(request) -> str | None:
    """The operation EasOperationPermission found for this request."""
    return getattr(getattr(request, "_request", request), "eas_operation", None)


class EasOperationPermission(BasePermission):
    def has_permission(self, request, view):
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        operation = getattr(view, "eas_operations", {}).get(method)
        if operation is None:
            raise ApiError(f"{request.method} is not supported here.", code="MethodNotAllowed", status=405)
        request._request.eas_operation = operation
        principal = principal_of(request)
        if operation in COLLECTION_OPERATIONS:
            authorize(principal, operation)
        return True

    def has_object_permission(self, request, view, obj):
        authorize(principal_of(request), operation_of(request), obj.arn)
        return True


def authorized_object(request, queryset, arn_of, not_found: ApiError):
    """The one object of `queryset` in the caller's tenant, authorized for the request's operation."""
    principal = principal_of(request)
    obj = queryset.filter(account=principal.account).first()
    if obj is None:
        raise not_found
    authorize(principal, operation_of(request), arn_of(obj))
    return obj
