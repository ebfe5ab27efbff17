"""A small process supervisor for `make up`: one console stream, one log file per process.

Each child runs in its own process group so that a stop reaches everything it spawned
(a node agent's instances included). A child that exits on its own is restarted with backoff;
SIGINT or SIGTERM stops every child, politely first, then by force.
"""
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 15
MAX_RESTART_DELAY_SECONDS = 30
COLORS = ["36", "32", "35", "33", "34", "31", "96", "92"]


@dataclass
class ProcessSpec:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    infrastructure: bool = False  # stopped only after every other process has stopped


class Child:
    def __init__(self, spec: ProcessSpec, log_dir: Path, color: str, output_lock: threading.Lock):
        self.spec = spec
        self.log_path = log_dir / f"{spec.name}.log"
        self.color = color
        self.output_lock = output_lock
        self.process: subprocess.Popen | None = None
        self.restarts = 0
        self.next_start = 0.0

    def start(self) -> None:
        env = {**os.environ, **self.spec.env, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            self.spec.argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        threading.Thread(target=self._pump, args=(self.process,), daemon=True).start()
        self.emit(f"started (pid {self.process.pid}): {' '.join(self.spec.argv)}")

    def _pump(self, process: subprocess.Popen) -> None:
        with open(self.log_path, "ab") as log:
            for raw in process.stdout:
                log.write(raw)
                log.flush()
                self.emit(raw.decode(errors="replace").rstrip("\n"))

    def emit(self, line: str) -> None:
        prefix = f"{self.spec.name:<8}|"
        if sys.stdout.isatty():
            prefix = f"\033[{self.color}m{prefix}\033[0m"
        with self.output_lock:
            sys.stdout.write(f"{prefix} {line}\n")
            sys.stdout.flush()

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def signal(self, signum: int) -> None:
        """Signal the child's whole process group (it may outlive the child itself)."""
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signum)
            except (ProcessLookupError, PermissionError):
                pass


class Supervisor:
    def __init__(self, specs: list[ProcessSpec], log_dir: Path):
        log_dir.mkdir(parents=True, exist_ok=True)
        lock = threading.Lock()
        self.children = [
            Child(spec, log_dir, COLORS[i % len(COLORS)], lock) for i, spec in enumerate(specs)
        ]
        self.stopping = threading.Event()

    def run(self) -> int:
        """Start everything, keep it running until told to stop, then stop it all."""
        previous = {s: signal.signal(s, self._request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            for child in self.children:
                child.start()
            while not self.stopping.wait(0.5):
                self._restart_exited()
        finally:
            self.stop_all()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return 0

    def _request_stop(self, signum, frame) -> None:
        self.stopping.set()

    def _restart_exited(self) -> None:
        now = time.monotonic()
        for child in self.children:
            code = child.exited()
            if code is None:
                continue
            if child.next_start == 0.0:
                delay = min(2 ** child.restarts, MAX_RESTART_DELAY_SECONDS)
                child.emit(f"exited with status {code}; restarting in {delay}s")
                child.next_start = now + delay
            elif now >= child.next_start:
                child.restarts += 1
                child.next_start = 0.0
                child.start()

    def stop_all(self) -> None:
        """Stop the platform's processes, then the infrastructure they were using."""
        self._stop([c for c in self.children if not c.spec.infrastructure])
        self._stop([c for c in self.children if c.spec.infrastructure])

    def _stop(self, children: list[Child]) -> None:
        children = [c for c in children if c.process is not None]
        for child in children:
            child.signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while time.monotonic() < deadline and any(c.exited() is None for c in children):
            time.sleep(0.1)
        for child in children:
            if child.exited() is None:
                child.emit("did not stop in time; killing")
            child.signal(signal.SIGKILL)  # also ends whatever the child left in its group
            child.process.wait()
            child.emit(f"stopped (status {child.exited()})")
