"""Default unit prices (CNY), which the operator adjusts in Django admin."""
from decimal import Decimal

from django.db import migrations

# machine type: (per machine-month prepaid, per machine-hour pay-as-you-go)
MACHINE_PRICES = {
    "ecs.c5.6xlarge": ("2600", "5.40"),
    "ecs.g5.6xlarge": ("3500", "7.30"),
    "ecs.g6.4xlarge": ("2400", "4.90"),
    "ecs.g6.6xlarge": ("3600", "7.40"),
    "ecs.gn5i-c4g1.xlarge": ("3200", "6.60"),
    "ecs.gn5i-c8g1.2xlarge": ("4000", "8.30"),
    "ecs.gn6i-c4g1.xlarge": ("4800", "9.90"),
    "ecs.gn6i-c8g1.2xlarge": ("5600", "11.60"),
    "ecs.gn6i-c16g1.4xlarge": ("7200", "14.90"),
    "ecs.gn6i-c24g1.6xlarge": ("8600", "17.80"),
    "ecs.gn5-c4g1.xlarge": ("6800", "14.10"),
    "ecs.gn5-c8g1.2xlarge": ("8500", "17.60"),
    "ecs.gn5-c28g1.7xlarge": ("14500", "30.00"),
    "ecs.gn6v-c8g1.2xlarge": ("16000", "33.10"),
}
QUOTA_HOUR = "0.27"


def add_prices(apps, schema_editor):
    Price = apps.get_model("resourcegroups", "Price")
    for machine_type, (month, hour) in MACHINE_PRICES.items():
        Price.objects.get_or_create(machine_type=machine_type, kind="PrePaidMonth",
                                    defaults={"unit_price": Decimal(month)})
        Price.objects.get_or_create(machine_type=machine_type, kind="PostPaidHour",
                                    defaults={"unit_price": Decimal(hour)})
    Price.objects.get_or_create(machine_type="", kind="QuotaHour", defaults={"unit_price": Decimal(QUOTA_HOUR)})


class Migration(migrations.Migration):

    dependencies = [
        ("resourcegroups", "0002_groups_orders_billing"),
    ]

    operations = [
        migrations.RunPython(add_prices, migrations.RunPython.noop),
    ]
