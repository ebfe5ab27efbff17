"""The worker fleet: machines registered by node agents are the platform's real capacity."""
from django.db import models


class Machine(models.Model):
    class Status(models.TextChoices):
        READY = "Ready"
        NOT_READY = "NotReady"

    name = models.CharField(max_length=128, unique=True)
    ip = models.GenericIPAddressField()
    cpu = models.PositiveIntegerField(help_text="cores")
    memory_mb = models.PositiveIntegerField()
    gpu = models.PositiveIntegerField(default=0)
    gpu_type = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.READY)
    agent_version = models.CharField(max_length=32, blank=True)
    cpu_used = models.FloatField(default=0, help_text="cores busy at the last heartbeat")
    memory_used_mb = models.PositiveIntegerField(default=0)
    gpu_utilization = models.FloatField(default=0, help_text="percent, averaged over GPUs")
    last_heartbeat = models.DateTimeField(null=True, blank=True)
    registered = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
