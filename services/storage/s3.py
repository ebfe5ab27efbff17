"""External `oss://bucket/path` sources in S3-compatible object stores (Alibaba OSS, MinIO, Ceph…).

`oss_endpoint` is written as in the seeds: a bare host such as `oss-cn-beijing.aliyuncs.com`
means HTTPS with virtual-hosted buckets (OSS's S3-compatible API lives at `s3.oss-<region>…`),
while `http://host:port` names a self-hosted server, addressed path-style. Credentials come
from EAS_OSS_ACCESS_KEY_ID / EAS_OSS_ACCESS_KEY_SECRET; without them requests are anonymous.
"""
import re
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlsplit

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from services.storage import config
from services.storage.errors import InvalidKey, ObjectNotFound, SourceUnavailable, StorageError
from services.storage.streams import LimitedWriter
from services.storage.validators import Validators

ALIYUN_OSS_HOST_RE = re.compile(r"^oss-(?P<region>[a-z0-9-]+?)(?P<internal>-internal)?\.aliyuncs\.com$")
HOST_RE = re.compile(r"^[A-Za-z0-9.-]+(:\d+)?$")
DEFAULT_REGION = "us-east-1"
NOT_FOUND_CODES = {"NoSuchKey", "NoSuchBucket", "404", "NotFound"}


@dataclass(frozen=True)
class Endpoint:
    url: str
    addressing_style: str
    region: str


def parse_endpoint(oss_endpoint: str) -> Endpoint:
    value = (oss_endpoint or "").strip()
    if "://" in value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
            raise InvalidKey(f"oss_endpoint {oss_endpoint!r} must look like http://host:port or a host name")
        port = f":{parts.port}" if parts.port else ""
        return Endpoint(f"{parts.scheme}://{parts.hostname}{port}", "path", DEFAULT_REGION)
    if not HOST_RE.match(value):
        raise InvalidKey(f"oss_endpoint {oss_endpoint!r} must be a host name such as oss-cn-beijing.aliyuncs.com")
    aliyun = ALIYUN_OSS_HOST_RE.match(value)
    if aliyun:
        return Endpoint(f"https://s3.{value}", "virtual", aliyun["region"])
    return Endpoint(f"https://{value}", "virtual", DEFAULT_REGION)


@dataclass(frozen=True)
class RemoteObject:
    key: str
    size: int
    etag: str
    last_modified: str

    @property
    def validators(self) -> Validators:
        return Validators(etag=self.etag, last_modified=self.last_modified, size=self.size)


class S3Store:
    def __init__(self, oss_endpoint: str, *, timeout: float):
        self.endpoint = parse_endpoint(oss_endpoint)
        credentials = config.oss_credentials()
        client_config = Config(
            s3={"addressing_style": self.endpoint.addressing_style},
            signature_version=UNSIGNED if credentials is None else "s3v4",
            connect_timeout=timeout, read_timeout=timeout,
            retries={"max_attempts": 3, "mode": "standard"},
            # Third-party S3 servers do not all know the newer CRC checksums.
            request_checksum_calculation="when_required", response_checksum_validation="when_required",
        )
        key_id, secret = credentials or (None, None)
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint.url, region_name=self.endpoint.region,
            aws_access_key_id=key_id, aws_secret_access_key=secret, config=client_config)

    def _error(self, exc: Exception, what: str) -> StorageError:
        where = f"oss://{what} at {self.endpoint.url}"
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
            message = exc.response.get("Error", {}).get("Message", "") or code
            if code in NOT_FOUND_CODES:
                return ObjectNotFound(f"{where} does not exist ({code})")
            if code in ("AccessDenied", "403", "Forbidden"):
                return SourceUnavailable(f"{where}: access denied; set EAS_OSS_ACCESS_KEY_ID and "
                                         "EAS_OSS_ACCESS_KEY_SECRET or make the object readable")
            return SourceUnavailable(f"{where}: {code}: {message}")
        return SourceUnavailable(f"{where} could not be reached: {exc}")

    def head(self, bucket: str, key: str) -> RemoteObject | None:
        """The object `key`, or None when there is no such object (it may still be a folder)."""
        try:
            response = self.client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in NOT_FOUND_CODES:
                return None
            raise self._error(exc, f"{bucket}/{key}") from None
        except BotoCoreError as exc:
            raise self._error(exc, f"{bucket}/{key}") from None
        return RemoteObject(key, response["ContentLength"], response.get("ETag", ""),
                            response["LastModified"].isoformat())

    def list(self, bucket: str, prefix: str) -> list[RemoteObject]:
        """Every object under `prefix`, in key order (folder markers `a/` excluded)."""
        objects = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    if not item["Key"].endswith("/"):
                        objects.append(RemoteObject(item["Key"], item["Size"], item.get("ETag", ""),
                                                    item["LastModified"].isoformat()))
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, f"{bucket}/{prefix}") from None
        return objects

    def download(self, bucket: str, key: str, out: BinaryIO, *, max_bytes: int) -> LimitedWriter:
        try:
            body = self.client.get_object(Bucket=bucket, Key=key)["Body"]
            return LimitedWriter(out, max_bytes, f"oss://{bucket}/{key}").write_all(body.iter_chunks(1 << 20))
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, f"{bucket}/{key}") from None
