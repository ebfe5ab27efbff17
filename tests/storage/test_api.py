"""The model repository API (upload, list, delete) and presigned downloads served by the console."""
import hashlib
import io
import tarfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import StopUpload
from rest_framework.test import APIClient

from console.iam import accounts, policies
from services.storage import presign, repository
from services.storage.errors import InvalidToken, ObjectNotFound
from services.storage.fetch import fetch
from services.storage.store import embedded_store
from services.storage.uploads import StagingUploadHandler
from tests.storage.builders import tar_bytes

pytestmark = pytest.mark.django_db

OBJECTS = "/api/v2/storage/objects"
ARCHIVE = tar_bytes([("saved_model.pb", b"graph-def"), ("variables/variables.index", b"index")], "w:gz")


@pytest.fixture
def alice(storage):
    return accounts.create_main_account("alice", "alice-pass-123")


@pytest.fixture
def bob(storage):
    return accounts.create_main_account("bob", "bob-pass-1234")


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def staged_files(storage) -> list:
    staging = storage.data / "oss" / ".staging"
    return list(staging.iterdir()) if staging.exists() else []


def upload(client, path, body=ARCHIVE):
    return client.generic("PUT", f"{OBJECTS}/{path}", data=body, content_type="application/octet-stream")


def test_raw_upload_returns_the_oss_path_in_the_tenants_repository(alice, storage):
    response = upload(client_for(alice.owner), "savedmodel_example/savedmodel_example.tar.gz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["Uri"] == f"oss://eas-model-shanghai/{alice.uid}/savedmodel_example/savedmodel_example.tar.gz"
    assert body["Size"] == len(ARCHIVE) and body["RequestId"]
    stored = storage.data / "oss" / "eas-model-shanghai" / alice.uid / "savedmodel_example/savedmodel_example.tar.gz"
    assert stored.read_bytes() == ARCHIVE


def test_multipart_upload_into_a_folder(alice, storage):
    client = client_for(alice.owner)
    response = client.post(f"{OBJECTS}/models/", {"file": SimpleUploadedFile("lr.pmml", b"<PMML/>")},
                           format="multipart")
    assert response.status_code == 200, response.content
    assert response.json()["Path"] == "models/lr.pmml"
    assert (storage.data / "oss" / "eas-model-shanghai" / alice.uid / "models" / "lr.pmml").read_bytes() == b"<PMML/>"
    assert staged_files(storage) == []


def test_uploads_over_the_limit_are_refused_and_leave_nothing(alice, storage):
    storage.settings.EAS_STORAGE_MAX_OBJECT_BYTES = 1000
    client = client_for(alice.owner)
    response = upload(client, "big.bin", b"x" * 5000)
    assert response.status_code == 413 and response.json()["Code"] == "EntityTooLarge"
    response = client.post(OBJECTS + "/", {"file": SimpleUploadedFile("big.bin", b"x" * 5000)}, format="multipart")
    assert response.status_code == 413
    assert not (storage.data / "oss" / "eas-model-shanghai").exists()
    assert staged_files(storage) == []


def test_multipart_parts_are_cut_off_while_streaming(storage):
    """A request without a usable Content-Length (chunked) is still stopped at the limit."""
    handler = StagingUploadHandler(embedded_store(), max_bytes=1000)
    assert handler.handle_raw_input(None, {}, 0, b"boundary") is None
    handler.new_file("file", "big.bin", "application/octet-stream", None)
    handler.receive_data_chunk(b"x" * 600, 0)
    with pytest.raises(StopUpload):
        handler.receive_data_chunk(b"x" * 600, 600)
    assert handler.too_large
    handler.file.close()
    handler.upload_interrupted()
    assert staged_files(storage) == []


def test_listing_is_a_path_picker_over_the_tenants_prefix(alice):
    client = client_for(alice.owner)
    for path in ("models/a.tar.gz", "models/b.tar.gz", "models/v2/c.tar.gz", "proc/app.py"):
        assert upload(client, path).status_code == 200
    root = client.get(OBJECTS).json()
    assert [f["Path"] for f in root["Folders"]] == ["models/", "proc/"] and root["Objects"] == []
    assert root["Folders"][0]["Uri"] == f"oss://eas-model-shanghai/{alice.uid}/models/"
    models = client.get(f"{OBJECTS}/models/").json()
    assert [o["Path"] for o in models["Objects"]] == ["models/a.tar.gz", "models/b.tar.gz"]
    assert [f["Path"] for f in models["Folders"]] == ["models/v2/"]
    page = client.get(f"{OBJECTS}/models/", {"MaxKeys": 2}).json()
    assert page["IsTruncated"] and page["NextMarker"] == "models/b.tar.gz"
    rest = client.get(f"{OBJECTS}/models/", {"MaxKeys": 2, "Marker": page["NextMarker"]}).json()
    assert [f["Path"] for f in rest["Folders"]] == ["models/v2/"] and not rest["IsTruncated"]
    everything = client.get(OBJECTS, {"Delimiter": ""}).json()
    assert len(everything["Objects"]) == 4


def test_delete_removes_the_object_and_empty_folders(alice, storage):
    client = client_for(alice.owner)
    upload(client, "old/v1/model.tar.gz")
    assert client.delete(f"{OBJECTS}/old/v1/model.tar.gz").status_code == 200
    assert client.get(OBJECTS).json()["Folders"] == []
    response = client.delete(f"{OBJECTS}/old/v1/model.tar.gz")
    assert response.status_code == 404 and response.json()["Code"] == "NoSuchKey"


def test_tenants_only_see_their_own_prefix(alice, bob):
    upload(client_for(alice.owner), "models/secret.tar.gz")
    as_bob = client_for(bob.owner)
    assert as_bob.get(OBJECTS).json()["Folders"] == []
    assert as_bob.delete(f"{OBJECTS}/models/secret.tar.gz").status_code == 404
    assert as_bob.delete(f"{OBJECTS}/{alice.uid}/models/secret.tar.gz").status_code == 404
    assert as_bob.get(f"{OBJECTS}/{alice.uid}/").json()["Objects"] == []
    alice_uri = repository.uri_of(alice, "models/secret.tar.gz")
    with pytest.raises(ObjectNotFound):
        repository.check_source_access(bob, alice_uri)
    repository.check_source_access(alice, alice_uri)


@pytest.mark.parametrize("path", ["a/../b.tar.gz", "a//b.tar.gz", "a/b;rm -rf.tar.gz"])
def test_unsafe_paths_are_invalid(alice, path):
    response = upload(client_for(alice.owner), path)
    assert response.status_code == 400 and response.json()["Code"] == "InvalidParameter.Path"


def test_ram_users_need_the_permission_points(alice):
    reader = accounts.create_ram_user(alice, "reader", password="reader-pass-123")
    policy = policies.create_policy(alice, "list-only", {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": ["eas:ListInstance"], "Resource": "acs:eas:*:*:*"}]})
    policies.attach(policy, reader)
    client = client_for(reader.user)
    assert client.get(OBJECTS).status_code == 200
    response = upload(client, "m.tar.gz")
    assert response.status_code == 403 and "UploadModel" in response.json()["Message"]
    assert client.delete(f"{OBJECTS}/m.tar.gz").status_code == 403
    assert APIClient().get(OBJECTS).status_code in (401, 403)


def test_presigned_object_and_folder_downloads(alice, client):
    repository.upload(alice, "tf/model.tar.gz", io.BytesIO(ARCHIVE))
    repository.upload(alice, "proc/app.py", io.BytesIO(b"print('app')"))
    repository.upload(alice, "proc/lib/util.py", io.BytesIO(b"X = 1"))
    url = presign.presign(repository.uri_of(alice, "tf/model.tar.gz"), ttl=60)
    path = url.split("://", 1)[1].partition("/")[2]
    response = client.get("/" + path)
    assert response.status_code == 200 and b"".join(response.streaming_content) == ARCHIVE
    assert 'filename="model.tar.gz"' in response["Content-Disposition"]
    head = client.head("/" + path)
    assert head["ETag"] == response["ETag"] and head["Content-Length"] == str(len(ARCHIVE))

    folder_url = presign.presign(repository.uri_of(alice, "proc/"), ttl=60)
    folder = client.get("/" + folder_url.split("://", 1)[1].partition("/")[2])
    with tarfile.open(fileobj=io.BytesIO(b"".join(folder.streaming_content))) as tar:
        assert {m.name: tar.extractfile(m).read() for m in tar.getmembers()} == \
            {"app.py": b"print('app')", "lib/util.py": b"X = 1"}


def test_expired_tampered_and_missing_links_are_refused(alice, client):
    repository.upload(alice, "m.tar.gz", io.BytesIO(ARCHIVE))
    uri = repository.uri_of(alice, "m.tar.gz")
    token = presign.presign(uri, ttl=60).rpartition("/")[2]
    payload, _, signature = token.partition(".")
    other = presign.presign(repository.uri_of(alice, "other.tar.gz"), ttl=60).rpartition("/")[2]
    tampered = other.partition(".")[0] + "." + signature
    response = client.get(f"/storage/objects/{tampered}")
    assert response.status_code == 403 and "signature does not match" in response.json()["Message"]
    expired = presign.presign(uri, ttl=-1).rpartition("/")[2]
    response = client.get(f"/storage/objects/{expired}")
    assert response.status_code == 403 and "expired" in response.json()["Message"]
    with pytest.raises(InvalidToken):
        presign.verify(payload + ".x" + signature)
    missing = client.get(f"/storage/objects/{other}")
    assert missing.status_code == 404


def test_agents_fetch_embedded_objects_through_presigned_urls(alice, live_server, storage, monkeypatch):
    """What a node agent on another machine does: download the signed URL over HTTP, cached
    across re-signed links of the same object."""
    storage.settings.EAS_CONSOLE_URL = live_server.url
    repository.upload(alice, "tf/model.tar.gz", io.BytesIO(ARCHIVE))
    repository.upload(alice, "proc/app.py", io.BytesIO(b"print('app')"))
    from services.storage import http

    gets = []
    real_download = http.download
    monkeypatch.setattr(http, "download", lambda url, out, **kw: gets.append(url) or real_download(url, out, **kw))
    uri = repository.uri_of(alice, "tf/model.tar.gz")
    agent_cache = storage.cache.parent / "agent-cache"
    first_link, second_link = presign.presign(uri, ttl=60), presign.presign(uri, ttl=120)
    assert first_link != second_link
    first = fetch(first_link, dest_root=agent_cache)
    second = fetch(second_link, dest_root=agent_cache)
    assert first.path == second.path and len(gets) == 1
    assert first.digest == "sha256:" + hashlib.sha256(ARCHIVE).hexdigest()
    assert (first.path / "variables" / "variables.index").read_bytes() == b"index"
    folder = fetch(presign.presign(repository.uri_of(alice, "proc/"), ttl=60), dest_root=agent_cache)
    assert (folder.path / "app.py").read_bytes() == b"print('app')"
