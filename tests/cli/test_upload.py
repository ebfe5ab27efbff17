"""`eascmd upload`: a file into the caller's model repository, then deployed from its oss:// path."""
import json
import os
import re

import pytest

from tests.runtime.models import PMML_REGRESSION

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]


def test_upload_prints_the_oss_path_like_the_seeds(platform, tmp_path):
    folder = tmp_path / "savedmodel_example"
    folder.mkdir()
    (folder / "model.pmml").write_text(PMML_REGRESSION)
    result = platform.eascmd("upload", "savedmodel_example/model.pmml", "--inner", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    uri = f"oss://eas-model-shanghai/{platform.account.uid}/savedmodel_example/model.pmml"
    assert result.stdout.splitlines() == [
        f"[OK] oss endpoint: [{platform.base_url}]",
        f"[OK] oss target path: [{uri}]",
        f"Succeed: Total num: 1, size: {len(PMML_REGRESSION.encode()):,}. OK num: 1(upload 1 files).",
    ]
    assert result.stderr == "", "small files get no progress bar"

    (tmp_path / "pmml.json").write_text(json.dumps({
        "name": "uploaded_pmml", "processor": "pmml", "model_path": uri, "metadata": {"instance": 1, "cpu": 1}}))
    created = platform.ok("create", str(tmp_path / "pmml.json"))
    assert f"[OK] Fetching model from [{uri}]" in created and created.splitlines()[-1] == "[OK] Service is running"
    platform.ok("delete", "uploaded_pmml", "-y")


def test_large_upload_streams_with_a_progress_bar(platform, tmp_path):
    size = 12 * 1024 * 1024 + 17
    archive = tmp_path / "big.tar.gz"
    with open(archive, "wb") as handle:
        handle.write(os.urandom(size))
    result = platform.eascmd("upload", str(archive))
    assert result.returncode == 0, result.stderr
    assert f"[OK] oss target path: [oss://eas-model-shanghai/{platform.account.uid}/big.tar.gz]" in result.stdout
    assert f"size: {size:,}." in result.stdout
    # Redrawn in place with "\r" (read back as line breaks here): some progress, then all of it.
    bar = [line for line in result.stderr.splitlines() if line]
    assert re.fullmatch(r"\[#*\.+\] +\d+%  [\d.]+ MiB / 12\.0 MiB", bar[0]), result.stderr
    assert bar[-1] == "[" + "#" * 30 + "] 100%  12.0 MiB / 12.0 MiB"
    listing = platform.api.call("GET", "/storage/objects/", {"Delimiter": "/"})
    assert {"Path": "big.tar.gz", "Size": size} == {k: v for obj in listing["Objects"] if obj["Path"] == "big.tar.gz"
                                                    for k, v in obj.items() if k in ("Path", "Size")}


def test_upload_of_a_missing_file_is_a_usage_error(platform, tmp_path):
    result = platform.eascmd("upload", str(tmp_path / "nothing.tar.gz"))
    assert result.returncode == 2 and "is not a file" in result.stderr
