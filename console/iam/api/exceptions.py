"""DRF exception handler rendering every API error as POP JSON `{"RequestId", "Code", "Message"}`."""
import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

from console.iam.errors import ApiError
from console.iam.middleware import request_id_of

logger = logging.getLogger(__name__)

DRF_CODES = {
    exceptions.ParseError: "InvalidParameter",
    exceptions.ValidationError: "InvalidParameter",
    exceptions.UnsupportedMediaType: "InvalidParameter",
    exceptions.NotAuthenticated: "Unauthorized",
    exceptions.AuthenticationFailed: "Unauthorized",
    exceptions.PermissionDenied: "Forbidden",
    exceptions.NotFound: "NotFound",
    exceptions.MethodNotAllowed: "MethodNotAllowed",
    exceptions.NotAcceptable: "NotAcceptable",
    exceptions.Throttled: "Throttling",
}


def _flatten(detail, prefix: str = "") -> list[str]:
    """ValidationError details as `Field: message` lines."""
    if isinstance(detail, dict):
        lines = []
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else f"{prefix}{key}"
            lines += _flatten(value, f"{name}." if name else "")
        return lines
    if isinstance(detail, list):
        return [line for item in detail for line in _flatten(item, prefix)]
    field = prefix[:-1]
    return [f"{field}: {detail}" if field else str(detail)]


def as_api_error(exc) -> ApiError | None:
    """The ApiError an exception stands for; None for unexpected exceptions (those stay 500s)."""
    if isinstance(exc, ApiError):
        return exc
    api_error = getattr(exc, "api_error", None)
    if isinstance(api_error, ApiError):
        return api_error
    if isinstance(exc, Http404):
        return ApiError("The specified resource does not exist.", code="NotFound", status=404)
    if isinstance(exc, DjangoPermissionDenied):
        return ApiError("You are not authorized to do this operation.", code="Forbidden", status=403)
    if isinstance(exc, exceptions.APIException):
        code = next((c for cls, c in DRF_CODES.items() if isinstance(exc, cls)), "InternalError")
        message = " ".join(_flatten(exc.detail)) if isinstance(exc, exceptions.ValidationError) else str(exc.detail)
        return ApiError(message, code=code, status=exc.status_code)
    return None


def exception_handler(exc, context):
    request = context.get("request")
    error = as_api_error(exc)
    if error is None:
        return None
    django_request = getattr(request, "_request", request)
    if django_request is not None:
        django_request.eas_error_code = error.code
    if error.status >= 500:
        logger.error("API error %s: %s", error.code, error.message)
    response = Response(
        {"RequestId": request_id_of(request) if request is not None else "", "Code": error.code,
         "Message": error.message},
        status=error.status,
    )
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        response["Retry-After"] = str(int(exc.wait))
    return response
