"""eascmd pieces that need no server: tables, argument parsing, the config file, pysdk, --help."""
import json
import stat
import subprocess
import sys
import tarfile

import pytest

from console.cli import config, tables
from console.cli.commands import UsageError
from console.cli.commands.pysdk import service_name
from console.cli.commands.services import parse_assignments
from console.cli.commands.upload import repository_path
from console.cli.main import build_parser, main
from tests import harness

COMMANDS = [
    ["config"], ["upload"], ["create"], ["modify"], ["release"], ["version"], ["stop"], ["start"], ["restart"],
    ["delete"], ["ls"], ["list"], ["desc"], ["w"], ["showworkers"], ["versions"], ["events"], ["logs"],
    ["resource"], ["resource", "ls"], ["resource", "desc"], ["resource", "li"], ["resource", "list_instance"],
    ["resource", "network"], ["test"], ["pysdk"], ["pysdk", "init"], ["pysdk", "pack"], [],
]


def test_boxed_table_like_the_seeds():
    text = tables.render([["pmml_example", "Running"], ["模型", None]], ["SERVICENAME", "STATUS"])
    assert text.splitlines() == [
        "+--------------+---------+",
        "| SERVICENAME  | STATUS  |",
        "+--------------+---------+",
        "| pmml_example | Running |",
        "| 模型         |         |",
        "+--------------+---------+",
    ]


def test_multi_line_cells_and_sections():
    text = tables.render([["Basic", "CpuCount", 16], tables.SEPARATOR, ["Network", "Config", "{\n  \"a\": 1\n}"]])
    assert text.splitlines() == [
        "+---------+----------+----------+",
        "| Basic   | CpuCount | 16       |",
        "+---------+----------+----------+",
        "| Network | Config   | {        |",
        "|         |          |   \"a\": 1 |",
        "|         |          | }        |",
        "+---------+----------+----------+",
    ]


def test_assignments_become_a_nested_partial_description():
    assert parse_assignments(["metadata.instance=10", "metadata.cpu=5", "metadata.rpc.batching=true",
                              "model_config={\"k\": [1]}", "metadata.resource=eas-r-abc"]) == {
        "metadata": {"instance": 10, "cpu": 5, "rpc": {"batching": True}, "resource": "eas-r-abc"},
        "model_config": {"k": [1]},
    }
    for bad in ("metadata.instance", "=3", "metadata..cpu=1"):
        with pytest.raises(UsageError):
            parse_assignments([bad])
    with pytest.raises(UsageError, match="plain value"):
        parse_assignments(["metadata=1", "metadata.cpu=2"])


@pytest.mark.parametrize(("given", "expected"), [
    ("pai-eas.cn-beijing.aliyuncs.com", "http://pai-eas.cn-beijing.aliyuncs.com"),
    ("127.0.0.1:8000", "http://127.0.0.1:8000"),
    ("https://eas.example.com/", "https://eas.example.com"),
    ("http://10.0.0.5:8000/console", "http://10.0.0.5:8000/console"),
])
def test_endpoint_forms(given, expected):
    assert config.normalize_endpoint(given) == expected


def test_bad_endpoint_is_refused():
    with pytest.raises(config.ConfigError):
        config.normalize_endpoint("ftp://host")


def test_config_file_is_private_and_keeps_the_endpoint(tmp_path):
    path = tmp_path / "deep" / "config"
    assert main(["-c", str(path), "config", "-i", "LTAIexample", "-k", "s3cr=t%x", "-e", "10.1.2.3:8000"]) == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert config.load(path) == config.Credentials("LTAIexample", "s3cr=t%x", "http://10.1.2.3:8000")
    assert main(["config", "-c", str(path), "-i", "LTAIother", "-k", "other"]) == 0
    assert config.load(path) == config.Credentials("LTAIother", "other", "http://10.1.2.3:8000")


def test_default_config_is_under_home(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["config", "-i", "LTAIexample", "-k", "secret"]) == 0
    assert capsys.readouterr().out == f"Configuration saved to: {tmp_path}/.eas/config\n"
    assert config.load(tmp_path / ".eas" / "config").endpoint == config.DEFAULT_ENDPOINT


def test_missing_config_says_how_to_configure(tmp_path, capsys):
    assert main(["-c", str(tmp_path / "none"), "ls"]) == 1
    assert "run: eascmd config -i <AccessKeyID> -k <AccessKeySecret>" in capsys.readouterr().err


def test_unreachable_endpoint_fails_cleanly(tmp_path, capsys):
    path = tmp_path / "config"
    main(["-c", str(path), "config", "-i", "id", "-k", "secret", "-e", f"127.0.0.1:{harness.free_port()}"])
    assert main(["-c", str(path), "desc", "x"]) == 1
    assert capsys.readouterr().err.startswith("[ERROR] ConnectionError: cannot reach http://127.0.0.1:")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "eascmd")
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*command, "--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: eascmd")


def test_console_script_module_runs():
    result = subprocess.run([sys.executable, "-m", "console.cli", "--help"], capture_output=True, text=True,
                            cwd=harness.ROOT, timeout=60)
    assert result.returncode == 0 and "resource" in result.stdout
    result = subprocess.run([sys.executable, "-m", "console.cli", "modify", "svc"], capture_output=True,
                            text=True, cwd=harness.ROOT, timeout=60)
    assert result.returncode == 2 and "-D<key>=<value>" in result.stderr


def test_upload_keeps_relative_paths_only():
    assert repository_path("savedmodel_example/savedmodel_example.tar.gz") == \
        "savedmodel_example/savedmodel_example.tar.gz"
    assert repository_path("./model.tar.gz") == "model.tar.gz"
    assert repository_path("/data/models/model.tar.gz") == "model.tar.gz"
    assert repository_path("../model.tar.gz") == "model.tar.gz"


def test_pysdk_names_the_service_after_the_folder(tmp_path):
    assert service_name(tmp_path / "pysdk_demo") == "pysdk_demo"
    assert service_name(tmp_path / "My-Demo 2") == "my_demo_2"
    assert service_name(tmp_path / "2024") == "pysdk_2024"


def test_pysdk_pack_leaves_out_links_to_outside(tmp_path, capsys):
    project = tmp_path / "demo"
    (project / "ENV" / "bin").mkdir(parents=True)
    (project / "ENV" / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    (project / "ENV" / "lib" / "python3.11" / "site-packages" / "eas_platform.pth").write_text("/somewhere\n")
    (project / "ENV" / "lib" / "python3.11" / "site-packages" / "mod.py").write_text("X = 1\n")
    (project / "ENV" / "lib64").symlink_to("lib")
    (project / "ENV" / "bin" / "python").symlink_to(sys.executable)
    (project / "app.py").write_text("print('hi')\n")
    assert main(["pysdk", "pack", str(project)]) == 0
    assert capsys.readouterr().out.startswith(f"[PYSDK] Creating package: {tmp_path / 'demo.tar.gz'}\n")
    with tarfile.open(tmp_path / "demo.tar.gz") as archive:
        names = set(archive.getnames())
        archive.extractall(tmp_path / "out", filter="data")  # what the platform's safe extraction allows
    assert {"app.py", "ENV/lib64", "ENV/lib/python3.11/site-packages/mod.py"} <= names
    assert "ENV/bin/python" not in names
    assert not any(name.endswith("eas_platform.pth") for name in names)


def test_pysdk_pack_needs_an_env(tmp_path):
    (tmp_path / "bare").mkdir()
    with pytest.raises(SystemExit) as exit_info:
        main(["pysdk", "pack", str(tmp_path / "bare")])
    assert exit_info.value.code == 2


def test_modify_needs_changes_and_reads_json(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "list.json").write_text(json.dumps([1]))
    for argv in (["modify", "svc"], ["modify", "svc", "-s", str(tmp_path / "bad.json")],
                 ["modify", "svc", "-s", str(tmp_path / "list.json")], ["create", str(tmp_path / "nope.json")]):
        with pytest.raises(SystemExit) as exit_info:
            main(["-c", str(tmp_path / "config"), *argv])
        assert exit_info.value.code == 2
