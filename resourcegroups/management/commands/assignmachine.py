"""Put a registered machine in its region's public group or back in the free inventory."""
from django.core.management.base import BaseCommand, CommandError

from resourcegroups import fleet


class Command(BaseCommand):
    help = "Assign a machine to the public resource group or leave it free for dedicated groups."

    def add_arguments(self, parser):
        parser.add_argument("name", help="machine name (as given to nodeagent --name)")
        parser.add_argument("pool", choices=fleet.POOLS)

    def handle(self, *args, **opts):
        try:
            machine = fleet.assign_machine(opts["name"], opts["pool"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{machine.name}: {machine.group.group_id if machine.group else 'free'}")
