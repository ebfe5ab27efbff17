"""Process-level endpoints of the web server."""
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from console.health import readiness


@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request):
    ready, checks = readiness()
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": checks},
                        status=200 if ready else 503)
