"""Storage failures, worded for the person who wrote the model path or uploaded the file.

They are plain exceptions so node agents can report them as they are; the REST views translate
them into the API's POP errors.
"""


class StorageError(Exception):
    """Any failure to store, find or fetch model files."""


class InvalidKey(StorageError):
    """An object path, bucket or URI that is malformed or unsafe."""


class KeyConflict(StorageError):
    """A path that collides with an existing object or folder (`a` is a file, `a/b` was asked for)."""


class ObjectNotFound(StorageError):
    """No object or folder at that path (also what another tenant's path looks like)."""


class TooLarge(StorageError):
    """An upload, download or extraction went over a configured size or count limit."""


class SourceUnavailable(StorageError):
    """A remote source answered with an error, timed out, or sent something other than announced."""


class UnsafeArchive(StorageError):
    """An archive member that would escape the target directory or is not a plain file, dir or link."""


class InvalidToken(StorageError):
    """A presigned download token that was tampered with, is malformed, or has expired."""
