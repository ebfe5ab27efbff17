"""Signed calls to the platform's REST API (`/api/v2/…`) and the errors they end in.

Every request carries an ACS3-HMAC-SHA256 signature made by `console.iam.signing.sign_request`,
the same signer the server verifies with; failures become `ApiFailure` with the server's POP
`Code` and `Message`, which `eascmd` prints as `Code: Message`.
"""
import json
import mmap
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from console.cli.config import Credentials
from console.iam.signing import canonical_uri, sign_request

API_PREFIX = "/api/v2"
API_VERSION = "2021-07-01"
UPLOAD_CHUNK_BYTES = 1024 * 1024


class ApiFailure(Exception):
    """A failed call: the server's error, or why the server could not be reached."""

    def __init__(self, code: str, message: str, request_id: str = "", status: int = 0):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.request_id, self.status = code, message, request_id, status


def _failure(response: httpx.Response) -> ApiFailure:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict) or "Code" not in body:
        text = " ".join(response.text.split())[:300] or response.reason_phrase
        return ApiFailure(f"HTTP{response.status_code}", text, status=response.status_code)
    return ApiFailure(str(body["Code"]), str(body.get("Message", "")), str(body.get("RequestId", "")),
                      response.status_code)


def _file_bytes(handle) -> bytes | mmap.mmap:
    """The file as a bytes-like object for hashing without reading it into memory."""
    if os.fstat(handle.fileno()).st_size == 0:
        return b""
    return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)


class EasClient:
    def __init__(self, credentials: Credentials, timeout: float = 60):
        self.credentials = credentials
        self.base = httpx.URL(credentials.endpoint)
        self.http = httpx.Client(timeout=timeout)
        self._region = credentials.region

    def _send(self, method: str, path: str, query: dict | None, body, content_type: str | None,
              content=None, extra_headers: dict | None = None) -> dict:
        """Sign (`body` is bytes-like, hashed for the signature) and send (`content` or `body`)."""
        full_path = self.base.path.rstrip("/") + API_PREFIX + path
        query = {k: str(v) for k, v in (query or {}).items() if v is not None}
        url = self.base.copy_with(raw_path=canonical_uri(full_path).encode(), query=None)
        draft = httpx.Request(method, url, params=query)
        headers = {"host": draft.headers["host"], "x-acs-version": API_VERSION, "accept": "application/json"}
        if content_type:
            headers["content-type"] = content_type
        headers = sign_request(method, full_path, query, headers, body,
                               self.credentials.access_key_id, self.credentials.access_key_secret)
        headers.update(extra_headers or {})
        try:
            response = self.http.request(method, draft.url, headers=headers,
                                         content=body if content is None else content)
        except httpx.HTTPError as exc:
            raise ApiFailure("ConnectionError", f"cannot reach {self.base}: {exc}") from None
        if response.status_code >= 400:
            raise _failure(response)
        try:
            return response.json()
        except ValueError:
            raise ApiFailure("InvalidResponse", f"{method} {full_path} answered non-JSON: "
                                                f"{response.text[:200]!r}", status=response.status_code) from None

    def call(self, method: str, path: str, query: dict | None = None, body=None) -> dict:
        """A JSON API call; `body` is a dict (sent as JSON), JSON text or None."""
        if body is None:
            return self._send(method, path, query, b"", None)
        data = (json.dumps(body) if isinstance(body, dict) else body).encode()
        return self._send(method, path, query, data, "application/json")

    def upload(self, path: str, file: Path, on_progress: Callable[[int], None]) -> dict:
        """PUT a file's raw bytes, streamed in chunks; `on_progress` gets the bytes sent so far."""
        size = file.stat().st_size

        def chunks(handle) -> Iterator[bytes]:
            sent = 0
            handle.seek(0)
            while chunk := handle.read(UPLOAD_CHUNK_BYTES):
                sent += len(chunk)
                yield chunk
                on_progress(sent)

        with open(file, "rb") as handle:
            body = _file_bytes(handle)
            try:
                return self._send("PUT", path, None, body, "application/octet-stream",
                                  content=chunks(handle), extra_headers={"content-length": str(size)})
            finally:
                if isinstance(body, mmap.mmap):
                    body.close()

    @property
    def region(self) -> str:
        """The configured region, else the one this installation serves (DescribeRegions' Local)."""
        if not self._region:
            regions = self.call("GET", "/regions").get("Regions") or []
            local = [r["RegionId"] for r in regions if r.get("Local")]
            if not local:
                raise ApiFailure("RegionUnknown", "the server names no local region; "
                                                  "set one with: eascmd config --region <RegionId>")
            self._region = local[0]
        return self._region
