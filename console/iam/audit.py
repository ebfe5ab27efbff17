"""The audit trail of writes: who (account, user, AccessKey), what, on which target, result.

`record` is for code that acts outside a request (or wants an explicit entry);
`record_request` is called by `AuditMiddleware` for every write request whose caller and
operation are known, so API views and pages get auditing without doing anything.
"""
import logging

from console.iam.models import AuditEntry

logger = logging.getLogger(__name__)


def record(principal, operation: str, target: str, result: str, *, status_code: int | None = None,
           request_id: str = "", source_ip: str | None = None) -> AuditEntry:
    """Store one entry; `result` is AuditEntry.SUCCESS or the error code."""
    return AuditEntry.objects.create(
        account=principal.account,
        user=principal.user,
        actor=principal.display_name,
        access_key_id=principal.access_key.access_key_id if principal.access_key else "",
        operation=operation,
        target=target[:512],
        result=result[:64],
        status_code=status_code,
        request_id=request_id,
        source_ip=source_ip,
    )


def set_target(request, target: str) -> None:
    """Name the object a write created or changed when the authorized resource does not say it."""
    getattr(request, "_request", request).eas_audit_target = target


def record_request(request, response) -> AuditEntry | None:
    principal = getattr(request, "eas_principal", None)
    if principal is None:
        return None
    last = principal.checks[-1] if principal.checks else None
    operation = getattr(request, "eas_operation", None) or (last[0] if last else None)
    if operation is None:
        return None
    target = getattr(request, "eas_audit_target", None) or (last[1] if last else "") or request.path
    if response.status_code < 400:
        result = AuditEntry.SUCCESS
    else:
        result = getattr(request, "eas_error_code", None) or str(response.status_code)
    try:
        return record(
            principal, operation, target, result,
            status_code=response.status_code,
            request_id=getattr(request, "request_id", ""),
            source_ip=request.META.get("REMOTE_ADDR") or None,
        )
    except Exception:
        # The write already happened; losing its audit line must not turn it into an error.
        logger.exception("could not record audit entry for %s %s", operation, target)
        return None
