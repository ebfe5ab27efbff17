"""Online debug (seed 8.1 在线调试): send a request to a service and see request and response.

The browser posts to this view, which forwards to the gateway's `/api/predict/<name>` with the
service's token: the page needs no CORS from the gateway and never sends the token itself.
TensorFlow services can be called with JSON inputs that `frontend.tfjson` turns into protobuf.
"""
import base64
import json
import time

import httpx
from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from console.iam.errors import InvalidParameter
from frontend import tables, tfjson
from frontend.views.common import console_page, find_service
from services import endpoints, spec

TIMEOUT_SECONDS = 30
MAX_SHOWN_BYTES = 256 * 1024


@console_page
def panel(request, principal, region, name):
    service = find_service(principal, region, name, "InvokeService")
    row = tables.service_rows(principal, [service])[0]
    processor = service.description.get("processor") or ""
    return render(request, "frontend/services/debug.html", {
        "service": service, "row": row, "can": row.can,
        "url": endpoints.internet_endpoint(service),
        "tensorflow": spec.processor_family(processor) == "tensorflow",
        "masked_token": _mask(service.token),
    })


def _mask(token: str) -> str:
    return f"{token[:4]}****{token[-4:]}" if len(token) > 8 else "****"


@require_POST
@console_page
def send(request, principal, region, name):
    """Forward one request; answers JSON describing the request sent and the response got."""
    service = find_service(principal, region, name, "InvokeService")
    try:
        data = json.loads(request.body or b"{}")
    except json.JSONDecodeError:
        raise InvalidParameter("The debug request must be JSON.") from None
    tensorflow = data.get("mode") == "tensorflow"
    if tensorflow:
        body, content_type = tfjson.encode_request(data.get("tensorflow") or {}), "application/octet-stream"
    else:
        body, content_type = (data.get("body") or "").encode(), data.get("content_type") or "text/plain"
    url = settings.EAS_GATEWAY_URL + endpoints.predict_path(service.name)
    headers = {"Authorization": service.token, "Content-Type": content_type}
    sent = {
        "line": f"POST {url}",
        "headers": {**headers, "Authorization": _mask(service.token), "Content-Length": str(len(body))},
        "body": _describe(body, json_data=data.get("tensorflow") if tensorflow else None),
    }
    started = time.monotonic()
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS) as client:
            response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return JsonResponse({"request": sent, "error": f"The gateway could not be reached: {exc}"})
    elapsed_ms = round((time.monotonic() - started) * 1000, 1)
    received = {"status": response.status_code, "reason": response.reason_phrase,
                "headers": dict(response.headers), "elapsed_ms": elapsed_ms,
                "body": _describe(response.content)}
    if tensorflow and response.status_code == 200:
        try:
            received["decoded"] = tfjson.decode_response(response.content)
        except ValueError as exc:
            received["decode_error"] = str(exc)
    return JsonResponse({"request": sent, "response": received})


def _describe(body: bytes, json_data=None) -> dict:
    """A body as the panel shows it: text when it is text, base64 otherwise (truncated)."""
    shown = body[:MAX_SHOWN_BYTES]
    described = {"size": len(body), "truncated": len(body) > MAX_SHOWN_BYTES}
    if json_data is not None:
        described["json"] = json_data
    try:
        described["text"] = shown.decode()
    except UnicodeDecodeError:
        described["base64"] = base64.b64encode(shown).decode()
    return described
