"""Model services, their immutable versions, their instances and their deployment events.

Desired state (which version, how many instances, running or stopped, traffic weight) lives
on `Service`; `Instance` rows record where each instance was placed and what its agent last
reported. The reconciler turns the first into the second.
"""
from django.db import models
from django.utils.functional import cached_property

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
    token = models.CharField(max_length=128, blank=True)
    resource_group_id = models.CharField(max_length=64, blank=True,
                                         help_text="dedicated group id; empty for the public group")
    desired_instances = models.PositiveIntegerField(default=1)
    running = models.BooleanField(default=True, help_text="desired: running or stopped")
    current_version = models.PositiveIntegerField(default=1)
    latest_version = models.PositiveIntegerField(default=1)
    previous_version = models.PositiveIntegerField(null=True, blank=True,
                                                   help_text="version to roll back to if a rollout fails")
    # Blue-green: an associated service names its original; once released, it gets
    # `traffic_weight` percent of the original endpoint's traffic and its own endpoint closes.
    # A name, not a key: the original endpoint outlives the original service's deletion.
    origin_name = models.CharField(max_length=128, blank=True)
    traffic_weight = models.PositiveSmallIntegerField(default=0)
    released = models.BooleanField(default=False)
    progress = models.CharField(max_length=32, blank=True,
                                help_text="last reported Total/Pending/Running, to log changes only")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="service_name_unique_per_region"),
        ]

    def __str__(self):
        return f"{self.region}/{self.name}"

    @cached_property
    def description(self) -> dict:
        return self.versions.get(number=self.current_version).description


class ServiceVersion(models.Model):
    """One immutable service description; updates of model or processor add a version."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    description = models.JSONField()
    pinned_sources = models.JSONField(
        default=dict, blank=True,
        help_text="digest and cached tree of the remote model/processor/warm-up content this version "
                  "first ran, so that it keeps running that content",
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["service", "number"], name="version_number_unique"),
        ]


class RedeploySchedule(models.Model):
    """Scheduled redeploy (S12): on a cron schedule, a new version from `model_path`, checked
    with a request; a version that fails its check is rolled back."""

    service = models.OneToOneField(Service, on_delete=models.CASCADE, related_name="schedule")
    cron = models.CharField(max_length=64, help_text="five-field cron expression, UTC")
    model_path = models.CharField(max_length=1024)
    check_body = models.TextField(blank=True, help_text="request sent to a new instance")
    expect_status = models.PositiveSmallIntegerField(default=200)
    expect_contains = models.CharField(max_length=256, blank=True)
    enabled = models.BooleanField(default=True)
    next_run = models.DateTimeField()
    last_run = models.DateTimeField(null=True, blank=True)
    last_version = models.PositiveIntegerField(null=True, blank=True)
    last_result = models.TextField(blank=True)


class Instance(models.Model):
    class Status(models.TextChoices):
        PENDING = "Pending"          # waiting for room on a machine
        SCHEDULED = "Scheduled"      # placed; start sent to the machine's agent
        STARTING = "Starting"        # process started, loading and warming up
        RUNNING = "Running"          # healthy and receiving traffic
        RESTARTING = "Restarting"    # crashed; the agent restarts it with back-off
        TERMINATING = "Terminating"  # draining, then stopped by the agent
        TERMINATED = "Terminated"
        FAILED = "Failed"

    LIVE = (Status.PENDING, Status.SCHEDULED, Status.STARTING, Status.RUNNING, Status.RESTARTING)

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="instances")
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=160, unique=True)
    machine = models.ForeignKey("resourcegroups.Machine", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="instances")
    host = models.CharField(max_length=64, blank=True)
    port = models.PositiveIntegerField(null=True, blank=True)
    cpu = models.PositiveIntegerField()
    memory_mb = models.PositiveIntegerField()
    gpu = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    message = models.TextField(blank=True)
    restarts = models.PositiveIntegerField(default=0)
    running_since = models.DateTimeField(null=True, blank=True)
    billed_until = models.DateTimeField(null=True, blank=True,
                                        help_text="public-group Quota use is billed up to here")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self):
        return self.name


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


# Monitoring

class MetricPoint(models.Model):
    """Calls one gateway process saw for a service (instance "") or one of its instances in a window.

    Every gateway writes its own rows; readers add up the rows of a window
    (`services.monitoring.series`). Names rather than keys: metrics outlive deleted services and
    the gateway's hot path only knows names.
    """

    service = models.CharField(max_length=128)
    instance = models.CharField(max_length=160, blank=True, help_text="empty: the whole service")
    window_start = models.DateTimeField()
    window_seconds = models.FloatField()
    calls = models.PositiveBigIntegerField(default=0)
    s2xx = models.PositiveBigIntegerField(default=0)
    s4xx = models.PositiveBigIntegerField(default=0)
    s5xx = models.PositiveBigIntegerField(default=0)
    bytes_in = models.PositiveBigIntegerField(default=0)
    bytes_out = models.PositiveBigIntegerField(default=0)
    latency_ms_sum = models.FloatField(default=0)
    latency_p50_ms = models.FloatField(null=True)
    latency_p90_ms = models.FloatField(null=True)
    latency_p99_ms = models.FloatField(null=True)
    latency_histogram = models.JSONField(default=dict, help_text="calls per bucket, keyed by upper bound in ms")

    class Meta:
        ordering = ["window_start", "id"]
        indexes = [
            models.Index(fields=["service", "instance", "window_start"], name="metricpoint_series"),
            models.Index(fields=["window_start"], name="metricpoint_window"),
        ]


class UsagePoint(models.Model):
    """What one instance's processes used, sampled by its node agent (CPU cores, memory MB; GPU
    utilisation is that of the instance's machine, for instances that hold GPUs)."""

    service = models.CharField(max_length=128)
    instance = models.CharField(max_length=160)
    time = models.DateTimeField()
    cpu_cores = models.FloatField()
    memory_mb = models.FloatField()
    gpu_utilization = models.FloatField(default=0)

    class Meta:
        ordering = ["time", "id"]
        indexes = [models.Index(fields=["service", "time"], name="usagepoint_series")]
