"""What identifies one version of a stored or remote object (ETag, Last-Modified, size).

The cache compares them to decide whether a source changed without downloading it again; the
presigned-download view sends exactly these as headers, so an agent's HEAD request reads back
the same values the control machine computed.
"""
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Validators:
    etag: str = ""
    last_modified: str = ""
    size: int | None = None

    @property
    def usable(self) -> bool:
        """A size alone does not tell versions apart; an ETag or a modification time does."""
        return bool(self.etag or self.last_modified)

    def as_dict(self) -> dict:
        return asdict(self)

    def as_headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["ETag"] = self.etag
        if self.last_modified:
            headers["Last-Modified"] = self.last_modified
        if self.size is not None:
            headers["Content-Length"] = str(self.size)
        return headers

    @classmethod
    def from_headers(cls, headers) -> "Validators":
        length = headers.get("content-length")
        return cls(etag=headers.get("etag", ""), last_modified=headers.get("last-modified", ""),
                   size=int(length) if length and length.isdigit() else None)
