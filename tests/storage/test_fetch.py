"""fetch() from HTTP(S), S3-compatible stores (moto_server), the embedded store and local paths."""
import hashlib
import io
import threading

import pytest

from services.storage.errors import InvalidKey, ObjectNotFound, SourceUnavailable, TooLarge
from services.storage.fetch import fetch
from services.storage.s3 import S3Store, parse_endpoint
from tests.storage.builders import tar_bytes, write
from tests.storage.conftest import leftovers

FILES = [("saved_model.pb", b"graph-def"), ("variables/variables.index", b"index")]
ARCHIVE = tar_bytes(FILES, "w:gz")


def tree(path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_http_archive_is_downloaded_and_extracted(storage, http_server):
    url = http_server.add("/models%2Fmnist.tar.gz", ARCHIVE)
    fetched = fetch(url)
    assert tree(fetched.path) == dict(FILES)
    assert fetched.digest == "sha256:" + hashlib.sha256(ARCHIVE).hexdigest()


def test_http_single_file_and_content_disposition_name(storage, http_server):
    fetched = fetch(http_server.add("/download", b"<PMML/>", headers={"Content-Disposition": 'attachment; filename="lr.pmml"'}))
    assert tree(fetched.path) == {"lr.pmml": b"<PMML/>"}
    assert fetched.entry().name == "lr.pmml"


def test_second_fetch_revalidates_without_downloading(storage, http_server):
    url = http_server.add("/model.tar.gz", ARCHIVE)
    first, second = fetch(url), fetch(url)
    assert first.path == second.path and first.digest == second.digest
    assert http_server.gets("/model.tar.gz") == 1
    assert http_server.requests[("HEAD", "/model.tar.gz")] == 2


def test_a_changed_source_is_downloaded_again(storage, http_server):
    url = http_server.add("/model.tar.gz", ARCHIVE)
    first = fetch(url)
    changed = tar_bytes([("saved_model.pb", b"v2")], "w:gz")
    http_server.add("/model.tar.gz", changed)
    second = fetch(url)
    assert http_server.gets("/model.tar.gz") == 2
    assert tree(second.path) == {"saved_model.pb": b"v2"} and tree(first.path) == dict(FILES)


def test_concurrent_fetches_download_once(storage, http_server):
    url = http_server.add("/slow.tar.gz", ARCHIVE, delay=0.3)
    results, errors = [], []

    def run():
        try:
            results.append(fetch(url))
        except Exception as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert len({r.path for r in results}) == 1 and tree(results[0].path) == dict(FILES)
    assert http_server.gets("/slow.tar.gz") == 1


def test_http_errors_name_the_status_and_hide_credentials(storage, http_server):
    url = http_server.base.replace("http://", "http://user:s3cret@") + "/missing.tar.gz?Signature=abc"
    with pytest.raises(SourceUnavailable) as caught:
        fetch(url)
    message = str(caught.value)
    assert "answered 404" in message and "/missing.tar.gz?…" in message
    assert "s3cret" not in message and "Signature" not in message and "user" not in message
    assert leftovers(storage.cache) == []


def test_a_body_shorter_than_announced_is_refused(storage, http_server):
    url = http_server.add("/short.tar.gz", ARCHIVE, announced_length=len(ARCHIVE) + 1000)
    with pytest.raises(SourceUnavailable, match="short.tar.gz"):
        fetch(url)
    assert leftovers(storage.cache) == []


def test_a_slow_server_times_out(storage, http_server):
    storage.settings.EAS_STORAGE_TIMEOUT_SECONDS = 0.5
    url = http_server.add("/stuck.tar.gz", ARCHIVE, delay=3)
    with pytest.raises(SourceUnavailable, match=r"downloading http://127\.0\.0\.1:\d+/stuck.tar.gz timed out after 0.5s"):
        fetch(url)


def test_an_oversized_download_is_refused(storage, http_server):
    storage.settings.EAS_STORAGE_MAX_OBJECT_BYTES = 100
    with pytest.raises(TooLarge, match="over the limit of 100 B"):
        fetch(http_server.add("/big.tar.gz", ARCHIVE))
    assert leftovers(storage.cache) == []


def test_local_paths_and_file_urls(storage, tmp_path):
    archive = write(tmp_path / "src" / "model.tar.gz", ARCHIVE)
    assert tree(fetch(str(archive)).path) == dict(FILES)
    assert tree(fetch(archive.as_uri()).path) == dict(FILES)
    folder = tmp_path / "src" / "folder"
    write(folder / "app.py", b"print('hi')")
    fetched = fetch(str(folder))
    assert fetched.path == folder and fetched.digest.startswith("sha256:")
    with pytest.raises(ObjectNotFound):
        fetch(str(tmp_path / "nope.tar.gz"))
    with pytest.raises(InvalidKey, match="not a supported source"):
        fetch("ftp://example.com/model.tar.gz")


def test_oss_endpoints_as_written_in_service_descriptions():
    aliyun = parse_endpoint("oss-cn-beijing.aliyuncs.com")
    assert (aliyun.url, aliyun.addressing_style, aliyun.region) == \
        ("https://s3.oss-cn-beijing.aliyuncs.com", "virtual", "cn-beijing")
    assert parse_endpoint("oss-cn-shanghai-internal.aliyuncs.com").region == "cn-shanghai"
    own = parse_endpoint("http://minio.local:9000")
    assert (own.url, own.addressing_style) == ("http://minio.local:9000", "path")
    with pytest.raises(InvalidKey):
        parse_endpoint("oss-cn-beijing.aliyuncs.com/bucket")


def test_oss_file_archive_and_folder_through_moto(storage, s3):
    s3.client.create_bucket(Bucket="wowei-beijing-tiyan")
    s3.client.put_object(Bucket="wowei-beijing-tiyan", Key="pmml/lr.pmml", Body=b"<PMML/>")
    s3.client.put_object(Bucket="wowei-beijing-tiyan", Key="tf/model.tar.gz", Body=ARCHIVE)
    for key, content in [("alink/saved_model.pb", b"pb"), ("alink/variables/variables.index", b"idx"),
                         ("alink-other/not-me.txt", b"no")]:
        s3.client.put_object(Bucket="wowei-beijing-tiyan", Key=key, Body=content)

    single = fetch("oss://wowei-beijing-tiyan/pmml/lr.pmml", oss_endpoint=s3.endpoint)
    assert tree(single.path) == {"lr.pmml": b"<PMML/>"}
    archive = fetch("oss://wowei-beijing-tiyan/tf/model.tar.gz", oss_endpoint=s3.endpoint)
    assert tree(archive.path) == dict(FILES)
    folder = fetch("oss://wowei-beijing-tiyan/alink/", oss_endpoint=s3.endpoint)
    assert tree(folder.path) == {"saved_model.pb": b"pb", "variables/variables.index": b"idx"}
    # Without the trailing slash the key is not an object, so it is read as a folder too.
    assert fetch("oss://wowei-beijing-tiyan/alink", oss_endpoint=s3.endpoint).path == folder.path


def test_oss_sources_are_cached_and_revalidated(storage, s3, monkeypatch):
    s3.client.create_bucket(Bucket="cached-models")
    s3.client.put_object(Bucket="cached-models", Key="m/saved_model.pb", Body=b"v1")
    downloads = []
    real_download = S3Store.download

    def counting_download(self, bucket, key, out, **kwargs):
        downloads.append(key)
        return real_download(self, bucket, key, out, **kwargs)

    monkeypatch.setattr(S3Store, "download", counting_download)
    first = fetch("oss://cached-models/m/", oss_endpoint=s3.endpoint)
    assert fetch("oss://cached-models/m/", oss_endpoint=s3.endpoint).path == first.path
    assert downloads == ["m/saved_model.pb"]
    s3.client.put_object(Bucket="cached-models", Key="m/saved_model.pb", Body=b"v2")
    assert tree(fetch("oss://cached-models/m/", oss_endpoint=s3.endpoint).path) == {"saved_model.pb": b"v2"}
    assert len(downloads) == 2


def test_oss_errors(storage, s3):
    s3.client.create_bucket(Bucket="errors-bucket")
    with pytest.raises(ObjectNotFound, match="oss://errors-bucket/nothing/here"):
        fetch("oss://errors-bucket/nothing/here", oss_endpoint=s3.endpoint)
    with pytest.raises(InvalidKey, match="oss_endpoint is required"):
        fetch("oss://errors-bucket/nothing/here")


def test_embedded_store_objects_are_read_from_disk(storage, db):
    from console.iam.accounts import create_main_account
    from services.storage import repository

    account = create_main_account("embedded-owner", "embedded-pass-123")
    uploaded = repository.upload(account, "tf/model.tar.gz", io.BytesIO(ARCHIVE))
    assert uploaded.uri == f"oss://eas-model-shanghai/{account.uid}/tf/model.tar.gz"
    assert tree(fetch(uploaded.uri).path) == dict(FILES)
    repository.upload(account, "proc/app.py", io.BytesIO(b"print('app')"))
    folder = fetch(f"oss://eas-model-shanghai/{account.uid}/proc/")
    assert tree(folder.path) == {"app.py": b"print('app')"}
    with pytest.raises(ObjectNotFound, match="does not exist in the embedded store"):
        fetch(f"oss://eas-model-shanghai/{account.uid}/missing.tar.gz")
