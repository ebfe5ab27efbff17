"""Model services and the record of their deployments."""
from django.db import models

from console.iam.models import Account


class Service(models.Model):
    class Status(models.TextChoices):
        CREATING = "Creating"
        WAITING = "Waiting"
        RUNNING = "Running"
        UPDATING = "Updating"
        STOPPING = "Stopping"
        STOPPED = "Stopped"
        STARTING = "Starting"
        FAILED = "Failed"
        DELETING = "Deleting"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="services")
    region = models.CharField(max_length=32)
    name = models.CharField(max_length=128)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATING)
    message = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="service_name_unique_per_region"),
        ]

    def __str__(self):
        return f"{self.region}/{self.name}"


class DeploymentEvent(models.Model):
    """One progress line of a service's deployment, in the seeds' `[OK] …` style."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="events")
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    level = models.CharField(max_length=8, default="OK")
    message = models.TextField()

    class Meta:
        ordering = ["created", "id"]

    @property
    def line(self) -> str:
        return f"[{self.level}] {self.message}"
