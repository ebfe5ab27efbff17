from django.core.management.base import BaseCommand

from console.bootstrap import bootstrap_admin, bootstrap_file


class Command(BaseCommand):
    help = "Create the admin main account once and write its credentials to var/bootstrap.json."

    def handle(self, *args, **options):
        credentials, created = bootstrap_admin()
        verb = "Created" if created else "Kept"
        self.stdout.write(f"{verb} admin account '{credentials['username']}'; "
                          f"credentials in {bootstrap_file()} (mode 0600)")
