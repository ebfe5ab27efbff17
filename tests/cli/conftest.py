"""A live platform for eascmd: web process, control worker, beat and node agents on the test DB.

One tenant, fleet and eascmd configuration serve the whole package: its data is created once
through `django_db_blocker` (the tests themselves never open a database transaction, so nothing
flushes it in between) and the database is flushed when the package is done, as a
transactional test would leave it. Commands run as real `eascmd` subprocesses.
"""
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pytest
from django.core.management import call_command

from console.cli import config
from console.cli.client import EasClient
from console.iam import accesskeys, accounts
from resourcegroups import fleet
from resourcegroups.models import ChargeType, Machine, ResourceGroup
from tests import harness

PUBLIC_MACHINE = "cli-public"
DEDICATED_MACHINE = "cli-dedicated"

ECHO_APP = textwrap.dedent('''
    import allspark


    class Echo(allspark.BaseProcessor):
        """Answers "<model_config>:<body>"."""

        def initialize(self):
            self.tag = self.model_config

        def process(self, data):
            return self.tag.encode() + b":" + data, 200


    if __name__ == "__main__":
        Echo(worker_threads=4).run()
''')


@dataclass
class Platform:
    base_url: str
    home: Path
    config: Path
    account: object
    access_key_id: str
    secret: str
    group_id: str

    def eascmd(self, *args: str, stdin: str | None = None, config: Path | None = None, cwd: Path | None = None,
               timeout: float = 180) -> subprocess.CompletedProcess:
        """Run `eascmd -c <config> <args>` as a subprocess; stdin answers its prompts."""
        argv = [sys.executable, "-m", "console.cli", "-c", str(config or self.config), *args]
        env = {**os.environ, "HOME": str(self.home), "PYTHONPATH": str(harness.ROOT)}
        return subprocess.run(argv, input=stdin if stdin is not None else "", capture_output=True, text=True,
                              timeout=timeout, cwd=cwd or harness.ROOT, env=env)

    def ok(self, *args: str, **kwargs) -> str:
        """Output of a command that must succeed."""
        result = self.eascmd(*args, **kwargs)
        assert result.returncode == 0, f"eascmd {' '.join(args)} exited {result.returncode}:\n" \
                                       f"{result.stdout}\n{result.stderr}"
        return result.stdout

    @cached_property
    def api(self) -> EasClient:
        """eascmd's own signed client, for structured checks of what the commands did."""
        return EasClient(config.load(self.config))

    def describe(self, name: str) -> dict:
        return self.api.call("GET", f"/services/cn-shanghai/{name}")

    def instances(self, name: str) -> list[dict]:
        return self.api.call("GET", f"/services/cn-shanghai/{name}/instances")["Instances"]

    def wait_for(self, name: str, timeout: float = 90, **expected) -> dict:
        """Poll DescribeService until every `Field=value` in `expected` holds."""
        def reached():
            service = self.describe(name)
            return service if all(service.get(k) == v for k, v in expected.items()) else None

        return harness.wait_until(reached, timeout, lambda: f"{name} never had {expected}: {self.describe(name)}",
                                  interval=0.3)


def start_agent(log_dir: Path, name: str, cpu: int, memory_mb: int) -> harness.ManagedProcess:
    agent = harness.node_agent(log_dir, name, cpu, memory_mb)
    harness.wait_until(lambda: Machine.objects.filter(name=name).exists(), 60,
                       lambda: f"agent {name} did not join:\n{agent.output()[-3000:]}")
    return agent


@pytest.fixture(scope="package")
def platform(django_db_setup, django_db_blocker, web_server, control_worker, process_log_dir, tmp_path_factory):
    home = tmp_path_factory.mktemp("cli-home")
    processes = []
    try:
        with django_db_blocker.unblock():
            account = accounts.create_main_account("cli-owner", "cli-pass-12345")
            access_key, secret = accesskeys.create_access_key(account)
            group = ResourceGroup.objects.create(
                account=account, name="cli-dedicated", kind=ResourceGroup.Kind.DEDICATED,
                charge_type=ChargeType.POSTPAID, status=ResourceGroup.Status.READY)
            processes.append(harness.beat(process_log_dir))
            processes.append(start_agent(process_log_dir, PUBLIC_MACHINE, cpu=16, memory_mb=65536))
            fleet.assign_machine(PUBLIC_MACHINE, fleet.PUBLIC)
            processes.append(start_agent(process_log_dir, DEDICATED_MACHINE, cpu=4, memory_mb=8192))
            Machine.objects.filter(name=DEDICATED_MACHINE).update(group=group)
        platform = Platform(web_server.base_url, home, home / ".eas" / "config", account,
                            access_key.access_key_id, secret, group.group_id)
        platform.ok("config", "-i", platform.access_key_id, "-k", secret, "-e", web_server.base_url)
        yield platform
    finally:
        for process in reversed(processes):
            process.stop()
        with django_db_blocker.unblock():
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def echo_app(tmp_path) -> Path:
    folder = tmp_path / "echo"
    folder.mkdir()
    (folder / "app.py").write_text(ECHO_APP)
    return folder
