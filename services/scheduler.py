"""Placing instances on machines (SPEC S3).

An instance gets all of its CPU, memory and GPU on one Ready machine of its service's
resource group. Instances of one service are spread: the machine holding the fewest of them
wins, then the one with the most free cores. When nothing fits, the instance stays Pending and
is placed as soon as room appears.
"""
from collections import Counter
from dataclasses import dataclass

from django.db.models import Sum

from resourcegroups.models import Machine
from services.models import Instance


@dataclass
class Room:
    machine: Machine
    cpu: int
    memory_mb: int
    gpu: int

    def fits(self, instance: Instance) -> bool:
        return (self.cpu >= instance.cpu and self.memory_mb >= instance.memory_mb
                and self.gpu >= instance.gpu)

    def take(self, instance: Instance) -> None:
        self.cpu -= instance.cpu
        self.memory_mb -= instance.memory_mb
        self.gpu -= instance.gpu


def free_room(machines) -> dict[int, Room]:
    """What is left on each machine after the instances already placed there."""
    used = {
        row["machine"]: row
        for row in Instance.objects.filter(machine__in=machines, status__in=Instance.LIVE)
        .values("machine").annotate(cpu=Sum("cpu"), memory_mb=Sum("memory_mb"), gpu=Sum("gpu"))
    }
    rooms = {}
    for machine in machines:
        taken = used.get(machine.pk, {})
        rooms[machine.pk] = Room(machine, machine.cpu - (taken.get("cpu") or 0),
                                 machine.memory_mb - (taken.get("memory_mb") or 0),
                                 machine.gpu - (taken.get("gpu") or 0))
    return rooms


def place_instances(pending: list[Instance], machines: list[Machine]) -> list[Instance]:
    """Assign machines to as many pending instances as fit; returns the ones placed."""
    ready = [m for m in machines if m.status == Machine.Status.READY]
    rooms = free_room(ready)
    per_machine = Counter(
        Instance.objects.filter(service__in={i.service_id for i in pending}, machine__in=ready,
                                status__in=Instance.LIVE).values_list("machine", flat=True)
    )
    placed = []
    for instance in pending:
        candidates = [room for room in rooms.values() if room.fits(instance)]
        if not candidates:
            continue
        best = min(candidates, key=lambda r: (per_machine[r.machine.pk], -r.cpu, r.machine.name))
        best.take(instance)
        per_machine[best.machine.pk] += 1
        instance.machine = best.machine
        instance.host = best.machine.ip
        placed.append(instance)
    return placed
