"""Errors every layer raises and the API renders as EAS/POP JSON: `{"RequestId", "Code", "Message"}`.

Domain code (views, consumers, tasks) raises these instead of DRF exceptions so the same error
reads the same way in the REST API, in console pages and in `eascmd`.
"""


class ApiError(Exception):
    """An error with an HTTP status and a POP-style code such as `InvalidParameter`."""

    status = 500
    code = "InternalError"
    message = "The request processing has failed due to some unknown error."

    def __init__(self, message: str | None = None, *, code: str | None = None, status: int | None = None):
        self.message = message or self.message
        self.code = code or self.code
        self.status = status or self.status
        super().__init__(self.message)

    def __str__(self):
        return f"{self.code}: {self.message}"


class InvalidParameter(ApiError):
    status = 400
    code = "InvalidParameter"
    message = "The request has an invalid parameter."


class Unauthorized(ApiError):
    status = 401
    code = "Unauthorized"
    message = "The request is not authenticated."


class Forbidden(ApiError):
    status = 403
    code = "Forbidden.RAM"
    message = "You are not authorized to do this operation."


class NotFound(ApiError):
    status = 404
    code = "NotFound"
    message = "The specified resource does not exist."


class Conflict(ApiError):
    """A request that collides with existing state (EAS answers these with 400, e.g. ServiceExists)."""

    status = 400
    code = "Conflict"
    message = "The request conflicts with the current state of the resource."
