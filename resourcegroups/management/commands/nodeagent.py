"""Run the node agent of one worker machine.

The agent joins the fleet with the join token, heartbeats its usage, and consumes its own
Celery queue `node.<name>` for the work the control plane assigns to this machine. It talks to
the broker only, never to the database, so it can run on any machine that reaches the broker.
"""
import os
import time

from celery.exceptions import TimeoutError as CeleryTimeout
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from console.celery import CONTROL_QUEUE, node_queue
from console.celery import app as celery_app
from resourcegroups.agent.heartbeat import Heartbeat
from resourcegroups.agent.usage import AGENT_GPUS_VARIABLE, host_ip, host_spec
from resourcegroups.tasks import register_machine

AGENT_VERSION = "1.0"
REGISTER_TIMEOUT_SECONDS = 15


class Command(BaseCommand):
    help = "Run the node agent of this worker machine."

    def add_arguments(self, parser):
        spec = host_spec()
        parser.add_argument("--name", required=True, help="machine name, unique in the fleet")
        parser.add_argument("--cpu", type=int, default=spec["cpu"], help="cores offered")
        parser.add_argument("--memory", type=int, default=spec["memory_mb"], help="memory offered, MB")
        parser.add_argument("--gpu", type=int, default=spec["gpu"], help="GPUs offered")
        parser.add_argument("--gpu-type", default=spec["gpu_type"])
        parser.add_argument("--ip", default=None, help="address instances are reached on")
        parser.add_argument("--machine-type", default="",
                            help="catalog type this machine is sold as (default: matched by spec)")
        parser.add_argument("--region", default="", help="region of the machine (default: the platform's)")
        parser.add_argument("--pool", choices=["public", "free"], default="",
                            help="where a new machine goes: the public group or the free inventory for "
                                 "dedicated groups (default: free with --machine-type, else public)")
        parser.add_argument("--join-token", default=None,
                            help="fleet join token (default: EAS_JOIN_TOKEN / the data dir's token)")
        parser.add_argument("--concurrency", type=int, default=4)

    def handle(self, *args, **opts):
        spec = {
            "join_token": opts["join_token"] or settings.EAS_JOIN_TOKEN,
            "name": opts["name"], "ip": opts["ip"] or host_ip(), "cpu": opts["cpu"],
            "memory_mb": opts["memory"], "gpu": opts["gpu"], "gpu_type": opts["gpu_type"],
            "agent_version": AGENT_VERSION, "machine_type": opts["machine_type"], "region": opts["region"],
            "pool": opts["pool"],
        }
        self.join(spec)
        os.environ[AGENT_GPUS_VARIABLE] = str(opts["gpu"])
        heartbeat = Heartbeat(opts["name"], settings.EAS_HEARTBEAT_SECONDS)
        heartbeat.start()
        try:
            celery_app.worker_main([
                "worker", "--queues", node_queue(opts["name"]), "--hostname", f"agent.{opts['name']}@%h",
                "--pool", "threads", "--concurrency", str(opts["concurrency"]),
                "--without-gossip", "--without-mingle", "--loglevel", "INFO",
            ])
        finally:
            heartbeat.stop()

    def join(self, spec: dict) -> None:
        """Register with the control plane, waiting for it to come up if needed."""
        while True:
            result = register_machine.apply_async(kwargs=spec, queue=CONTROL_QUEUE)
            try:
                answer = result.get(timeout=REGISTER_TIMEOUT_SECONDS)
            except CeleryTimeout:
                self.stderr.write("control plane did not answer the join request yet; retrying")
                time.sleep(1)
                continue
            except Exception as exc:
                raise CommandError(f"join refused: {exc}") from exc
            self.stdout.write(f"joined the fleet as {answer['name']} ({spec['cpu']} cores, "
                              f"{spec['memory_mb']} MB, {spec['gpu']} GPU) at {spec['ip']}")
            return
