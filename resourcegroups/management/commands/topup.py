"""Credit an account's wallet (the operator's side of paying a bill)."""
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from console.iam.models import Account
from resourcegroups import billing


class Command(BaseCommand):
    help = "Top up an account's balance; groups stopped for arrears restart once it is settled."

    def add_arguments(self, parser):
        parser.add_argument("account", help="account name or uid")
        parser.add_argument("amount")

    def handle(self, *args, **opts):
        account = Account.objects.filter(Q(name=opts["account"]) | Q(uid=opts["account"])).first()
        if account is None:
            raise CommandError(f"no account {opts['account']}")
        try:
            amount = Decimal(opts["amount"])
        except InvalidOperation as exc:
            raise CommandError(f"not an amount: {opts['amount']}") from exc
        wallet = billing.top_up(account, amount)
        self.stdout.write(f"{account.name}: balance {wallet.balance}"
                          + (f", in arrears since {wallet.arrears_since:%Y-%m-%d %H:%M}" if wallet.in_arrears else ""))
