"""Service instances on a worker machine, as the node agent runs them.

The agent starts one `python -m services.runtime` process per instance, restarts it with
back-off when it crashes, watches its `/health`, and reports every change of state to the
control plane through the broker (`services.instance_report`). It never touches the database.
"""
import ctypes
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from resourcegroups.agent.usage import gpu_inventory
from services.storage.cache import ModelCache
from services.storage.config import cache_root
from services.storage.fetch import FetchedModel, fetch

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30
STOP_GRACE_SECONDS = 10
# An instance that crashes this often before it was ever healthy is broken, not unlucky.
MAX_FAILED_STARTS = 3
# Reports are re-sent this often, so a report lost with a restarting control worker is not
# lost for good; final ones (Terminated, Failed) for a minute after the instance is gone.
RESEND_SECONDS = 10
FINAL_RESEND_SECONDS = 60
FINAL_STATES = ("Terminated", "Failed")


PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def die_with_agent() -> None:
    """In the child before exec: be killed when the agent dies, even by SIGKILL, so a lost agent
    leaves no instance behind (Linux)."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def gpu_utilization(devices: tuple[int, ...]) -> float:
    """Mean utilisation of the given GPU indices (nvidia-smi order), 0 when none is visible."""
    gpus = gpu_inventory()
    used = [gpus[index]["utilization"] for index in devices if index < len(gpus)]
    return sum(used) / len(used) if used else 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        return sock.getsockname()[1]


def runtime_argv(spec: dict, model_dir: str | None, model_entry: str | None, processor_dir: str | None,
                 warm_up_file: str | None, port: int) -> list[str]:
    """Command line of the instance server for one instance."""
    description = spec["description"]
    argv = [sys.executable, "-m", "services.runtime", "--host", "0.0.0.0", "--port", str(port),
            "--metadata", json.dumps(description["metadata"]), "--model-name", spec["service_name"]]
    if description.get("processor"):
        argv += ["--processor", description["processor"]]
    else:
        argv += ["--processor-type", description["processor_type"],
                 "--processor-path", processor_dir, "--processor-entry", description["processor_entry"]]
        if description.get("processor_mainclass"):
            argv += ["--processor-mainclass", description["processor_mainclass"]]
    if model_dir:
        argv += ["--model", model_dir]
    if model_entry:
        argv += ["--model-entry", model_entry]
    if spec.get("model_config"):
        argv += ["--model-config", spec["model_config"]]
    if warm_up_file:
        argv += ["--warm-up-data", warm_up_file]
    return argv


@dataclass
class InstanceProcess:
    instance_id: int
    name: str
    argv: list[str]
    port: int
    log_path: Path
    startup_timeout: float
    process: subprocess.Popen | None = None
    restarts: int = 0
    restart_at: float = 0.0
    started_at: float = 0.0
    gpu_devices: tuple[int, ...] = ()
    token: str = ""
    healthy: bool = False
    ever_healthy: bool = False
    stopping: bool = False
    stop_at: float = 0.0

    def spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"--- starting {self.name} on port {self.port} ---\n".encode())
            self.process = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True,
                                            preexec_fn=die_with_agent,
                                            env={**os.environ, "PYTHONUNBUFFERED": "1",
                                                 "EAS_SERVICE_TOKEN": self.token,
                                                 "CUDA_VISIBLE_DEVICES": ",".join(map(str, self.gpu_devices))})
        self.started_at = time.monotonic()
        self.healthy = False

    def signal(self, signum: int) -> None:
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signum)
            except ProcessLookupError:
                pass

    def check_health(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False


class InstanceSupervisor:
    """All instances of this machine; one per agent process."""

    def __init__(self, data_dir: Path, report, send_usage=lambda samples: None, usage_seconds: float = 10,
                 gpu_count: int = 0):
        self.data_dir = data_dir
        # Each GPU instance gets GPUs of its own (CUDA_VISIBLE_DEVICES); the others see none.
        self.free_gpus = list(range(gpu_count))
        self.send_report = report  # send_report(instance_id, status, **fields)
        self.send_usage = send_usage  # send_usage([{"instance_id", "cpu_cores", "memory_mb"}, …])
        self.cpu_seconds: dict[int, tuple[float, float]] = {}  # instance → (cpu seconds, when)
        self.usage_seconds = usage_seconds
        self.next_usage = time.monotonic() + usage_seconds
        self.last_reports: dict[int, tuple[str, dict, float, float]] = {}  # status, fields, first, last sent
        self.instances: dict[int, InstanceProcess] = {}
        self.lock = threading.RLock()
        self.thread = threading.Thread(target=self._watch, name="instances", daemon=True)
        self.thread.start()

    def log_path(self, name: str) -> Path:
        return self.data_dir / "instances" / name / "instance.log"

    def start(self, instance_id: int, name: str, argv_for_port, startup_timeout: float, gpu: int = 0,
              token: str = "", **report_fields) -> int | None:
        """Start an instance unless it already runs here; returns its port (None if it cannot start)."""
        with self.lock:
            existing = self.instances.get(instance_id)
            if existing is not None and not existing.stopping:
                return existing.port
            if existing is not None:  # started again while stopping: end the old process now
                self._forget(existing)
            if gpu > len(self.free_gpus):
                self.report(instance_id, "Failed", message=f"needs {gpu} GPU, this machine has "
                                                           f"{len(self.free_gpus)} free")
                return None
            devices = tuple(self.free_gpus[:gpu])
            del self.free_gpus[:gpu]
            port = free_port()
            instance = InstanceProcess(instance_id, name, argv_for_port(port), port,
                                       self.log_path(name), startup_timeout, gpu_devices=devices, token=token)
            instance.spawn()
            self.instances[instance_id] = instance
        self.report(instance_id, "Starting", port=port, message=f"process {instance.process.pid} started",
                    **report_fields)
        return port

    def stop(self, instance_id: int) -> None:
        with self.lock:
            instance = self.instances.get(instance_id)
            if instance is None:
                self.report(instance_id, "Terminated", message="not running on this machine")
                return
            instance.stopping = True
            instance.stop_at = time.monotonic()
            instance.signal(signal.SIGTERM)

    def running_ids(self) -> list[int]:
        with self.lock:
            return [i for i, inst in self.instances.items() if not inst.stopping]

    def tail_log(self, name: str, lines: int) -> str:
        path = self.log_path(name)
        if not path.exists():
            return ""
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 256 * 1024))
            return b"\n".join(fh.read().splitlines()[-lines:]).decode(errors="replace")

    def shutdown(self) -> None:
        """Stop every instance (the agent is going away)."""
        with self.lock:
            for instance in self.instances.values():
                instance.stopping = True
                instance.signal(signal.SIGTERM)
            deadline = time.monotonic() + STOP_GRACE_SECONDS
            for instance in self.instances.values():
                while instance.process.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.1)
                instance.signal(signal.SIGKILL)

    def report(self, instance_id: int, status: str, **fields) -> None:
        now = time.monotonic()
        with self.lock:
            self.last_reports[instance_id] = (status, fields, now, now)
        self.send_report(instance_id, status, **fields)

    def _resend_reports(self) -> None:
        now = time.monotonic()
        with self.lock:
            due = []
            for instance_id, (status, fields, first, last) in list(self.last_reports.items()):
                if status in FINAL_STATES and now - first > FINAL_RESEND_SECONDS:
                    del self.last_reports[instance_id]
                elif now - last >= RESEND_SECONDS:
                    self.last_reports[instance_id] = (status, fields, first, now)
                    due.append((instance_id, status, fields))
        for instance_id, status, fields in due:
            self.send_report(instance_id, status, **fields)

    def _watch(self) -> None:
        while True:
            time.sleep(POLL_SECONDS)
            with self.lock:
                instances = list(self.instances.values())
            for instance in instances:
                try:
                    self._check(instance)
                except Exception:
                    logger.exception("checking instance %s failed", instance.name)
            try:
                self._resend_reports()
                if time.monotonic() >= self.next_usage:
                    self.next_usage = time.monotonic() + self.usage_seconds
                    samples = self.sample_usage(instances)
                    if samples:
                        self.send_usage(samples)
            except Exception:  # the broker may be briefly away; the next round retries
                logger.exception("re-sending instance reports or usage failed")

    def sample_usage(self, instances: list[InstanceProcess]) -> list[dict]:
        """CPU cores (since the last sample) and resident memory of each instance's process tree."""
        samples = []
        now = time.monotonic()
        for instance in instances:
            if instance.process is None or instance.stopping or instance.process.poll() is not None:
                continue
            try:
                root = psutil.Process(instance.process.pid)
                tree = [root, *root.children(recursive=True)]
                cpu = sum(sum(p.cpu_times()[:2]) for p in tree)
                rss = sum(p.memory_info().rss for p in tree)
            except psutil.Error:
                continue
            previous = self.cpu_seconds.get(instance.instance_id)
            self.cpu_seconds[instance.instance_id] = (cpu, now)
            if previous is None or now <= previous[1]:
                continue
            samples.append({"instance_id": instance.instance_id,
                            "cpu_cores": round(max(0.0, cpu - previous[0]) / (now - previous[1]), 3),
                            "memory_mb": round(rss / (1024 * 1024), 1),
                            "gpu_utilization": gpu_utilization(instance.gpu_devices)})
        return samples

    def _check(self, instance: InstanceProcess) -> None:
        now = time.monotonic()
        code = instance.process.poll() if instance.process else None
        if instance.stopping:
            if instance.process is None or code is not None or now - instance.stop_at > STOP_GRACE_SECONDS:
                self._forget(instance)
                self.report(instance.instance_id, "Terminated", message="stopped")
            return
        if instance.process is None:
            if now >= instance.restart_at:
                instance.spawn()
                self.report(instance.instance_id, "Starting", restarts=instance.restarts,
                            message=f"restarted (restart {instance.restarts})")
            return
        if code is not None:
            instance.restarts += 1
            if not instance.ever_healthy and instance.restarts >= MAX_FAILED_STARTS:
                self._forget(instance)
                self.report(instance.instance_id, "Failed", restarts=instance.restarts,
                            message=f"exited with status {code} {instance.restarts} times before becoming "
                                    f"healthy; last log lines:\n{self.tail_log(instance.name, 20)}")
                return
            delay = min(2 ** (instance.restarts - 1), MAX_BACKOFF_SECONDS)
            instance.process = None
            instance.restart_at = now + delay
            self.report(instance.instance_id, "Restarting", restarts=instance.restarts,
                        message=f"process exited with status {code}; restarting in {delay}s")
            return
        if not instance.healthy:
            if instance.check_health():
                instance.healthy = instance.ever_healthy = True
                self.report(instance.instance_id, "Running", message="healthy")
            elif now - instance.started_at > instance.startup_timeout:
                self._forget(instance)
                self.report(instance.instance_id, "Failed",
                            message=f"not healthy within {instance.startup_timeout:.0f}s; "
                                    f"last log lines:\n{self.tail_log(instance.name, 20)}")
        elif not instance.check_health():
            instance.healthy = False
            self.report(instance.instance_id, "Starting", message="health check failing")

    def _forget(self, instance: InstanceProcess) -> None:
        """Kill whatever is left of an instance and stop supervising it."""
        instance.stopping = True
        instance.signal(signal.SIGKILL)
        with self.lock:
            if self.instances.get(instance.instance_id) is instance:
                del self.instances[instance.instance_id]
            self.free_gpus = sorted([*self.free_gpus, *instance.gpu_devices])
            instance.gpu_devices = ()


@dataclass
class PreparedInstance:
    """An instance's files fetched to this machine, ready to start on any port."""

    spec: dict
    model: str | None
    model_entry: str | None
    processor: str | None
    warm_up: str | None
    pins: dict

    def argv_for_port(self, port: int) -> list[str]:
        return runtime_argv(self.spec, self.model, self.model_entry, self.processor, self.warm_up, port)


class SourceChanged(Exception):
    """The content behind a version's path is no longer what that version first ran."""


def fetch_source(uri: str | None, oss_endpoint: str | None, entry: str | None = None,
                 pin: dict | None = None) -> tuple[str | None, str | None, dict | None]:
    """A model, processor or warm-up source as (local path, entry left to resolve, pin).

    Local paths are used in place (the runtime resolves the entry). Remote ones are downloaded
    into this machine's cache by digest, and the entry resolved here. A pin (the digest and
    cached tree a version first ran) keeps a version on its own content: a rollback starts
    from the tree this machine still has, and refuses content that changed since."""
    if not uri:
        return None, entry, None
    if uri.startswith("file://"):
        return uri[len("file://"):], entry, None
    if uri.startswith(("/", ".")):
        return uri, entry, None
    pinned_tree = ModelCache(cache_root()).root / "models" / pin["tree"] if pin else None
    if pinned_tree is not None and pinned_tree.is_dir():
        fetched = FetchedModel(pinned_tree, pin["digest"], uri)
    else:
        fetched = fetch(uri, oss_endpoint=oss_endpoint)
        if pin and fetched.digest != pin["digest"]:
            raise SourceChanged(f"the content of {uri} changed since this version first ran "
                                f"({pin['digest'][:19]}… became {fetched.digest[:19]}…) and this "
                                "machine has no copy of the original")
    return str(fetched.entry(entry)), None, {"digest": fetched.digest, "tree": fetched.path.name}


def prepare(spec: dict, on_progress=lambda line: None) -> PreparedInstance:
    description = spec["description"]
    sources = spec["sources"]
    pinned = spec.get("pinned") or {}
    endpoint = description.get("oss_endpoint")
    for kind, field in SOURCE_FIELDS.items():
        if sources.get(kind):
            on_progress(f"Fetching {kind.replace('_', '-')} from [{description[field]}]")
    pins = {}
    paths = {}
    for kind in SOURCE_FIELDS:
        entry = description.get("model_entry") if kind == "model" else None
        path, left, pin = fetch_source(sources.get(kind), endpoint, entry, pinned.get(kind))
        paths[kind] = (path, left)
        if pin:
            pins[kind] = pin
    return PreparedInstance(spec, paths["model"][0], paths["model"][1], paths["processor"][0],
                            paths["warm_up"][0], pins)


SOURCE_FIELDS = {"model": "model_path", "processor": "processor_path", "warm_up": "warm_up_data_path"}
