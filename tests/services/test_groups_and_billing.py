"""Services follow their resource group; public-group instances are billed in Quota-hours."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction

from resourcegroups import state
from resourcegroups.groups import public_group
from resourcegroups.models import Bill, Machine, Price
from services import metering
from services.models import Instance, Service
from tests.services.conftest import create_service, describe, wait_for_status
from tests.services.test_engine import answers, echo_description

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_stopped_group_stops_its_services_and_a_started_one_restores_them(
        tenant, dedicated_group, start_agent, echo_processor):
    start_agent("node-a")
    create_service(tenant, echo_description(echo_processor, dedicated_group, name="tenant_app"))
    wait_for_status(tenant, "tenant_app", "Running", running=1)

    with transaction.atomic():
        state.stop(dedicated_group, "Expired", "The subscription expired.")
    stopped = wait_for_status(tenant, "tenant_app", "Stopped")
    assert "resource group" in stopped["Message"] and "Stopped" in stopped["Message"]
    assert answers(tenant, "tenant_app") == []

    dedicated_group.refresh_from_db()
    with transaction.atomic():
        state.start(dedicated_group)
    assert wait_for_status(tenant, "tenant_app", "Running", running=1)["Message"] == ""
    assert answers(tenant, "tenant_app") == ["v1:hello"]


def test_released_group_takes_its_services_with_it(tenant, dedicated_group, echo_processor):
    create_service(tenant, echo_description(echo_processor, dedicated_group, name="doomed"))
    with transaction.atomic():
        state.release(dedicated_group)
    assert not Service.objects.filter(name="doomed").exists()


def test_custom_processor_refused_on_public_group_and_foreign_models_hidden(tenant, echo_processor):
    description = {"name": "sneaky", "processor_type": "python", "processor_entry": "app.py",
                   "processor_path": str(echo_processor), "metadata": {"instance": 1}}
    response = tenant.post("/api/v2/services", data=description, content_type="application/json")
    assert response.status_code == 400
    assert "dedicated resource group" in response.json()["Message"]

    foreign = {"name": "thief", "processor": "pmml", "metadata": {"instance": 1},
               "model_path": "oss://eas-model-shanghai/1111111111111111/models/lr.pmml"}
    response = tenant.post("/api/v2/services", data=foreign, content_type="application/json")
    assert response.status_code == 400
    assert "does not exist" in response.json()["Message"]
    assert not Service.objects.exists()


def test_public_group_instances_are_billed_in_quota_hours(tenant, start_agent, control_worker, tmp_path):
    Price.objects.update_or_create(kind=Price.Kind.QUOTA_HOUR, machine_type="",
                                   defaults={"unit_price": Decimal("0.25")})
    agent = start_agent("node-public")
    Machine.objects.filter(name="node-public").update(group=public_group())
    pmml = tmp_path / "lr.pmml"
    pmml.write_text(LINEAR_PMML)
    create_service(tenant, {"name": "scorer", "processor": "pmml", "model_path": str(pmml),
                            "metadata": {"instance": 1, "quota": 2}})
    wait_for_status(tenant, "scorer", "Running", running=1, timeout=120)
    instance = Instance.objects.get(service__name="scorer")
    assert instance.running_since is not None
    assert agent.alive()

    later = instance.running_since + timedelta(hours=3)
    assert metering.meter_public_instances(now=later) == 1
    bill = Bill.objects.get(service_id=str(instance.service_id))
    assert bill.quantity == 6  # 2 Quota for 3 hours
    assert bill.amount == Decimal("1.5000")  # at 0.25 per Quota-hour
    assert metering.meter_public_instances(now=later) == 0, "the same stretch is never billed twice"
    assert describe(tenant, "scorer")["Resource"] == "public"


LINEAR_PMML = """<?xml version="1.0" encoding="UTF-8"?>
<PMML version="4.4" xmlns="http://www.dmg.org/PMML-4_4">
  <Header description="y = 2x + 1"/>
  <DataDictionary numberOfFields="2">
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="continuous" dataType="double"/>
  </DataDictionary>
  <RegressionModel functionName="regression">
    <MiningSchema>
      <MiningField name="x"/>
      <MiningField name="y" usageType="target"/>
    </MiningSchema>
    <RegressionTable intercept="1">
      <NumericPredictor name="x" coefficient="2"/>
    </RegressionTable>
  </RegressionModel>
</PMML>
"""
