"""eascmd credentials against the live web process, and the `resource` commands."""
import json
import re
import stat
from urllib.parse import urlsplit

import pytest

from resourcegroups.models import DirectLink

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]


def test_config_is_saved_privately_and_used_by_every_command(platform):
    assert stat.S_IMODE(platform.config.stat().st_mode) == 0o600
    text = platform.config.read_text()
    assert platform.access_key_id in text and platform.secret in text


def test_bare_host_endpoint_and_global_config_option(platform, tmp_path):
    other = tmp_path / "shanghai2.conf"
    saved = platform.ok("config", "-i", platform.access_key_id, "-k", platform.secret,
                        "-e", urlsplit(platform.base_url).netloc, config=other)
    assert saved == f"Configuration saved to: {other}\n"
    # The seeds' `eascmd -c ~/.eas/shanghai2.conf resource desc …`, and -c after the command too.
    assert platform.group_id in platform.ok("resource", "desc", platform.group_id, config=other)
    assert "SERVICENAME" in platform.ok("ls", "-c", str(other), config=tmp_path / "missing")


def test_wrong_secret_is_refused_with_the_servers_message(platform, tmp_path):
    wrong = tmp_path / "wrong.conf"
    platform.ok("config", "-i", platform.access_key_id, "-k", platform.secret[::-1], "-e", platform.base_url,
                config=wrong)
    result = platform.eascmd("ls", config=wrong)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == ("[ERROR] SignatureDoesNotMatch: The request signature does not match the one we "
                                     "calculated; check the AccessKey secret and the signing method.")
    platform.ok("config", "-i", "LTAInobody", "-k", platform.secret, "-e", platform.base_url, config=wrong)
    result = platform.eascmd("resource", "ls", config=wrong)
    assert (result.returncode, result.stderr.strip()) == (
        1, "[ERROR] InvalidAccessKeyId.NotFound: The AccessKey ID does not exist.")


def test_resource_list_describe_and_instances(platform):
    listed = platform.ok("resource", "ls")
    assert re.search(rf"\| {platform.group_id} \| cli-dedicated +\| cn-shanghai \| 1 +\| 0 +\| 4 +\| ", listed)
    assert platform.ok("resource", "list") == listed

    described = platform.ok("resource", "desc", platform.group_id)
    assert re.search(rf"^\| Basic +\| ResourceId +\| {platform.group_id} +\|$", described, re.M)
    assert re.search(rf"^\| +\| OwnerUid +\| {platform.account.uid} +\|$", described, re.M)
    assert re.search(r"^\| +\| LastStatus +\| ResourceReady +\|$", described, re.M)
    assert re.search(r"^\| Network +\| VpcId +\| +\|$", described, re.M)

    machines = platform.ok("resource", "li", platform.group_id)
    assert "TOTAL/USED CPU" in machines
    assert re.search(r"\| cli-dedicated +\| i-\w+ +\| 127\.0\.0\.1 +\| Ready +\| 4/", machines)
    assert platform.ok("resource", "list_instance", platform.group_id) .count("cli-dedicated") == 1

    missing = platform.eascmd("resource", "desc", "eas-r-doesnotexist")
    assert (missing.returncode, missing.stderr.strip()) == (
        1, "[ERROR] ResourceNotFound: Resource group eas-r-doesnotexist does not exist.")


def test_resource_network_create_and_delete(platform, tmp_path):
    create = tmp_path / "network.json"
    create.write_text(json.dumps({
        "Action": "create", "VSwitchId": "vsw-8vbsunr5bkcbyxh94abcd", "SecurityGroupId": "sg-8vbhwowdxzx5fjcxabc",
        "VSwitchIdList": ["vsw-8xbsunr5abcbyqh93abcd", "vsw-8xbs1y7gu6cxbvqzwabcd"],
        "DestinationCIDR": "10.1.0.0/16",
    }))
    created = platform.ok("resource", "network", platform.group_id, "-s", str(create))
    assert created.startswith("[RequestId]: ")
    assert "[OK] VPC direct connection created." in created and "overlaps 10.0.0.0/8" in created
    link = DirectLink.objects.get(group__group_id=platform.group_id)
    assert (link.vswitch_id, link.aux_vswitch_ids, link.destination_cidrs) == (
        "vsw-8vbsunr5bkcbyxh94abcd", ["vsw-8xbsunr5abcbyqh93abcd", "vsw-8xbs1y7gu6cxbvqzwabcd"], ["10.1.0.0/16"])
    described = platform.ok("resource", "desc", platform.group_id)
    assert re.search(r"^\| +\| SecurityGroupId +\| sg-8vbhwowdxzx5fjcxabc +\|$", described, re.M)

    delete = tmp_path / "delete.json"
    delete.write_text(json.dumps({"Action": "delete"}))
    assert "[OK] VPC direct connection deleted." in platform.ok("resource", "network", platform.group_id,
                                                                "-s", str(delete))
    assert not DirectLink.objects.filter(group__group_id=platform.group_id).exists()

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"Action": "open"}))
    result = platform.eascmd("resource", "network", platform.group_id, "-s", str(bad))
    assert result.returncode == 2 and "Action must be one of create, update, delete" in result.stderr
