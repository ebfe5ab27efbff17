"""Successful API bodies in the EAS shape: the payload plus the request's `RequestId`."""
from rest_framework.response import Response

from console.iam.middleware import request_id_of


def api_response(request, data: dict | None = None, status: int = 200) -> Response:
    return Response({"RequestId": request_id_of(request), **(data or {})}, status=status)
