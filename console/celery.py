"""The Celery application shared by the control worker, beat and node agents.

Tasks of the control plane run on the `control` queue; each node agent consumes its own
queue `node.<name>` so that work meant for one machine reaches exactly that machine.
"""
import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

CONTROL_QUEUE = "control"

app = Celery("console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_default_queue = CONTROL_QUEUE
app.conf.task_queues = [Queue(CONTROL_QUEUE)]
app.autodiscover_tasks()


def node_queue(machine_name: str) -> str:
    """Name of the queue a node agent consumes."""
    return f"node.{machine_name}"
