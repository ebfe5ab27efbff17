"""`bootstrap` gives the admin one AccessKey and writes its secret to var/bootstrap.json once."""
import json

from console.bootstrap import bootstrap_admin
from console.iam import accesskeys
from console.iam.models import AccessKey


def test_bootstrap_issues_one_access_key(db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    credentials, created = bootstrap_admin()
    assert created
    key = AccessKey.objects.get(access_key_id=credentials["access_key_id"])
    assert key.user.username == "admin" and key.is_active
    assert accesskeys.decrypt_secret(key) == credentials["access_key_secret"]
    assert credentials["access_key_secret"] not in key.secret_ciphertext

    again, created = bootstrap_admin()
    assert not created
    assert AccessKey.objects.filter(user=key.user).count() == 1
    stored = json.loads((tmp_path / "bootstrap.json").read_text())
    assert stored["access_key_id"] == key.access_key_id
    assert stored["access_key_secret"] == credentials["access_key_secret"]
    assert (tmp_path / "bootstrap.json").stat().st_mode & 0o777 == 0o600
