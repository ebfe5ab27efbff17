"""Start the whole platform under one supervisor (what `make up` runs after installing)."""
import threading
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from console.bootstrap import bootstrap_admin, bootstrap_file
from console.platform import platform_processes, wait_for_port
from console.supervisor import Supervisor

STARTUP_TIMEOUT_SECONDS = 180


class Command(BaseCommand):
    help = "Migrate, bootstrap the admin account and run web, gateway, worker, beat and a node agent."

    def handle(self, *args, **options):
        started = time.monotonic()
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        credentials, created = bootstrap_admin()
        self.stdout.write(("Created" if created else "Kept") + f" admin account '{credentials['username']}'.")
        supervisor = Supervisor(platform_processes(), settings.DATA_DIR / "log")
        threading.Thread(target=self.announce_when_up, args=(started,), daemon=True).start()
        supervisor.run()
        self.stdout.write("All processes stopped.")

    def announce_when_up(self, started: float) -> None:
        ports = [settings.EAS_WEB_PORT, settings.EAS_GATEWAY_PORT]
        if all(wait_for_port("127.0.0.1", port, STARTUP_TIMEOUT_SECONDS) for port in ports):
            self.stdout.write(self.style.SUCCESS(
                f"\nPlatform is up in {time.monotonic() - started:.0f}s.\n"
                f"  Console:  {settings.EAS_CONSOLE_URL}\n"
                f"  Gateway:  {settings.EAS_GATEWAY_URL}/api/predict/<service>\n"
                f"  Admin credentials and AccessKey: {bootstrap_file()} (mode 0600)\n"
                f"  Logs: {settings.DATA_DIR / 'log'}/<process>.log   Stop with Ctrl-C.\n"
            ))
        else:
            self.stderr.write("web or gateway did not open its port in time; see the logs above")
