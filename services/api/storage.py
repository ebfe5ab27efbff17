"""Model repository endpoints and presigned downloads.

- `/api/v2/storage/objects[/<path>]`: the caller's own model repository. `PUT` a raw body or
  `POST` a multipart `file` to upload (`eascmd upload`, the console's upload), `GET` to list a
  prefix (the console's path picker), `DELETE` to remove an object. Paths are relative to the
  tenant's prefix, so another tenant's objects cannot be named at all.
- `/storage/objects/<token>`: what a presigned URL (`services.storage.presign`) serves, without
  other authentication: the object, or a tar stream of the folder.
"""
from pathlib import Path

from django.http import FileResponse, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_safe
from rest_framework.parsers import MultiPartParser
from rest_framework.views import APIView

from console.iam.api.permissions import EasOperationPermission, operation_of
from console.iam.api.responses import api_response
from console.iam.authz import authorize, principal_of
from console.iam.errors import ApiError, Conflict, InvalidParameter, NotFound
from console.iam.middleware import request_id_of
from services.storage import archives, config, presign, repository
from services.storage.errors import (
    InvalidKey,
    InvalidToken,
    KeyConflict,
    ObjectNotFound,
    StorageError,
    TooLarge,
)
from services.storage.store import StoredObject, embedded_store
from services.storage.streams import format_bytes
from services.storage.uploads import StagingUploadHandler

API_ERRORS = {
    InvalidKey: lambda message: InvalidParameter(message, code="InvalidParameter.Path"),
    KeyConflict: lambda message: Conflict(message, code="Conflict.Path"),
    ObjectNotFound: lambda message: NotFound(message, code="NoSuchKey"),
    TooLarge: lambda message: ApiError(message, code="EntityTooLarge", status=413),
}


def as_api_error(exc: StorageError) -> ApiError:
    for kind, make in API_ERRORS.items():
        if isinstance(exc, kind):
            return make(str(exc))
    return InvalidParameter(str(exc))


def _object_body(obj: repository.RepositoryObject) -> dict:
    return {"Path": obj.path, "Uri": obj.uri, "Size": obj.size,
            "LastModified": obj.modified.isoformat(timespec="seconds").replace("+00:00", "Z")}


def _too_large(max_bytes: int) -> ApiError:
    return as_api_error(TooLarge(f"the upload is larger than the limit of {format_bytes(max_bytes)}"))


class RepositoryObjectsView(APIView):
    permission_classes = [EasOperationPermission]
    parser_classes = [MultiPartParser]
    eas_operations = {"GET": "ListModels", "PUT": "UploadModel", "POST": "UploadModel", "DELETE": "DeleteModel"}

    def initialize_request(self, request, *args, **kwargs):
        # Before authentication: the CSRF check of a session POST already parses the body.
        if request.method == "POST":
            self.staging = StagingUploadHandler(embedded_store(), config.limits().max_object_bytes, request)
            request.upload_handlers = [self.staging]
        return super().initialize_request(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        authorize(principal_of(request), operation_of(request))

    def handle_exception(self, exc):
        return super().handle_exception(as_api_error(exc) if isinstance(exc, StorageError) else exc)

    def finalize_response(self, request, response, *args, **kwargs):
        if getattr(self, "staging", None) is not None:
            self.staging.discard()
        return super().finalize_response(request, response, *args, **kwargs)

    def get(self, request, path: str = ""):
        params = request.query_params
        try:
            max_keys = min(1000, max(1, int(params.get("MaxKeys") or 1000)))
        except ValueError:
            raise InvalidParameter("MaxKeys must be an integer between 1 and 1000.") from None
        account = principal_of(request).account
        listing = repository.list_objects(account, path, delimiter=params.get("Delimiter", "/"),
                                          marker=params.get("Marker", ""), max_keys=max_keys)
        return api_response(request, {
            "Prefix": path,
            "Objects": [_object_body(obj) for obj in listing.objects],
            "Folders": [{"Path": folder, "Uri": repository.uri_of(account, folder)} for folder in listing.folders],
            "IsTruncated": listing.truncated,
            "NextMarker": listing.next_marker,
        })

    def put(self, request, path: str = ""):
        if not path or path.endswith("/"):
            raise InvalidParameter("PUT needs the object's path, e.g. /api/v2/storage/objects/models/model.tar.gz")
        max_bytes = config.limits().max_object_bytes
        if int(request.META.get("CONTENT_LENGTH") or 0) > max_bytes:
            raise _too_large(max_bytes)
        obj = repository.upload(principal_of(request).account, path, request._request, max_bytes=max_bytes)
        return api_response(request, _object_body(obj))

    def post(self, request, path: str = ""):
        """Multipart upload of field `file`; a path ending with '/' (or none) is the folder it goes into."""
        upload = request.FILES.get("file")
        if self.staging.too_large:
            raise _too_large(self.staging.max_bytes)
        if upload is None:
            raise InvalidParameter("Send the file as the multipart form field 'file'.")
        key = path + upload.name if not path or path.endswith("/") else path
        obj = repository.commit_upload(principal_of(request).account, key, Path(upload.temporary_file_path()))
        return api_response(request, _object_body(obj))

    def delete(self, request, path: str = ""):
        repository.delete(principal_of(request).account, path)
        return api_response(request, {"Path": path})


def _error(request, status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"RequestId": request_id_of(request), "Code": code, "Message": message}, status=status)


@require_safe
def presigned_object(request, token: str):
    try:
        found = embedded_store().resolve(presign.verify(token))
    except InvalidToken as exc:
        return _error(request, 403, "AccessDenied", str(exc))
    except ObjectNotFound as exc:
        return _error(request, 404, "NoSuchKey", str(exc))
    except StorageError as exc:
        return _error(request, 400, "InvalidParameter", str(exc))
    headers = found.validators.as_headers()
    if isinstance(found, StoredObject):
        filename = found.key.rpartition("/")[2]
        if request.method == "HEAD":
            response = HttpResponse(headers=headers)
        else:
            response = FileResponse(open(found.path, "rb"), headers=headers)
    else:
        filename = found.prefix.rstrip("/").rpartition("/")[2] + ".tar"
        body = iter(()) if request.method == "HEAD" else archives.tar_stream(found.members())
        response = StreamingHttpResponse(body, content_type="application/x-tar", headers=headers)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
