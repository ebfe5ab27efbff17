"""The agent's heartbeat: usage sent to the control queue every few seconds."""
import logging
import threading

from console.celery import CONTROL_QUEUE
from resourcegroups.agent.usage import current_usage
from resourcegroups.tasks import machine_heartbeat

logger = logging.getLogger(__name__)


class Heartbeat(threading.Thread):
    def __init__(self, machine_name: str, period_seconds: float):
        super().__init__(name="heartbeat", daemon=True)
        self.machine_name = machine_name
        self.period_seconds = period_seconds
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            try:
                machine_heartbeat.apply_async(
                    kwargs={"name": self.machine_name, **current_usage()},
                    queue=CONTROL_QUEUE, expires=self.period_seconds * 3,
                )
            except Exception:  # the broker may be briefly away; the next beat retries
                logger.exception("heartbeat of %s not sent", self.machine_name)
            self.stopped.wait(self.period_seconds)

    def stop(self):
        self.stopped.set()
