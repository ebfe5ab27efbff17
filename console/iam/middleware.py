"""Request ids for every response, and the audit record of every write.

`RequestIdMiddleware` must run before anything that renders an error, so place it first;
`AuditMiddleware` after the authentication middleware.
"""
import uuid

from console.iam import audit

REQUEST_ID_HEADER = "x-acs-request-id"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


def request_id_of(request) -> str:
    """The id of the request being served (DRF or Django request), minted once on first use."""
    django_request = getattr(request, "_request", request)
    rid = getattr(django_request, "request_id", None)
    if rid is None:
        rid = django_request.request_id = new_request_id()
    return rid


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = request_id_of(request)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = rid
        return response


class AuditMiddleware:
    """Record each non-read request whose caller was identified and whose operation is known.

    The operation and target come from what the request was authorized for (see
    `console.iam.authz`), so views get auditing by calling `authorize` and nothing else.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method not in SAFE_METHODS:
            audit.record_request(request, response)
        return response
