"""Multipart uploads written straight into the embedded store's staging area.

Django's default handlers keep small files in memory and large ones in /tmp before the view runs,
with no size limit. This handler streams each file part into a staging file of the store (so
finishing the upload is a rename) and stops reading once the object size limit is passed.
"""
import os
from pathlib import Path

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

from services.storage.store import EmbeddedStore


class StagedUpload(UploadedFile):
    """A received file part, complete in the store's staging area."""

    def __init__(self, path: Path, name: str, size: int, content_type: str, charset: str | None):
        super().__init__(open(path, "rb"), name, content_type, size, charset)
        self.path = path

    def temporary_file_path(self) -> str:
        return str(self.path)


class StagingUploadHandler(FileUploadHandler):
    def __init__(self, store: EmbeddedStore, max_bytes: int, request=None):
        super().__init__(request)
        self.store = store
        self.max_bytes = max_bytes
        self.too_large = False
        self.staged: list[Path] = []
        self._size = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length > self.max_bytes:
            self.too_large = True
            return QueryDict(), MultiValueDict()
        return None

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        fd, path = self.store.staging_file()
        self.staged.append(path)
        # Named `file` because Django's parser closes `handler.file` when an upload stops early.
        self.file = os.fdopen(fd, "wb")
        self._size = 0

    def receive_data_chunk(self, raw_data, start):
        self._size += len(raw_data)
        if self._size > self.max_bytes:
            self.too_large = True
            raise StopUpload(connection_reset=True)
        self.file.write(raw_data)
        return None

    def file_complete(self, file_size):
        self.file.close()
        return StagedUpload(self.staged[-1], self.file_name, file_size, self.content_type, self.charset)

    def upload_interrupted(self):
        if hasattr(self, "file"):
            self.file.close()
        self.discard()

    def discard(self) -> None:
        """Remove staging files that were not committed (call when the request is done)."""
        for path in self.staged:
            path.unlink(missing_ok=True)
