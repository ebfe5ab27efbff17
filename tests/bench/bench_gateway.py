"""Benchmark of the gateway (services.gateway): calls through it vs straight to the instance.

One real instance server (`python -m services.runtime`) per model, a real gateway process
routing to it from a private SQLite database, and one load generator: `wrk` when installed
(`apt-get install wrk`), else a closed-loop aiohttp client. For each model and concurrency the
same load runs against the instance directly and through the gateway, alternating.

Usage (from the repository root):
    .venv/bin/python tests/bench/bench_gateway.py [--seconds 10] [--concurrency 1 32] [--no-tf]
        [--client wrk|aiohttp] [--pin]

Prints a table and the gateway's overhead (p50 latency added) and throughput ratio.
Not collected by pytest (bench_*.py).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import aiohttp

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
PYTHON = sys.executable
TOKEN = "bench-token-0123456789"
ECHO_APP = textwrap.dedent('''
    import allspark


    class Echo(allspark.BaseProcessor):
        def process(self, data):
            return data, 200


    if __name__ == "__main__":
        Echo(worker_threads=8).run()
''')
WRK_SCRIPT = textwrap.dedent('''
    local file = io.open(os.getenv("BENCH_BODY"), "rb")
    wrk.method = "POST"
    wrk.body = file:read("*a")
    file:close()
    wrk.headers["Authorization"] = os.getenv("BENCH_TOKEN")
    wrk.headers["Content-Type"] = "application/octet-stream"
''')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pinned(cpus: set[int] | None):
    """preexec_fn that keeps a child on `cpus` (None: anywhere)."""
    return None if cpus is None else (lambda: os.sched_setaffinity(0, cpus))


class Process:
    def __init__(self, name: str, argv: list[str], env: dict, log_dir: Path, cpus: set[int] | None = None):
        self.name = name
        self.log = open(log_dir / f"{name}.log", "wb")
        self.popen = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=pinned(cpus))

    def wait_http(self, url: str, timeout: float = 180) -> None:
        import httpx

        logging.getLogger("httpx").setLevel(logging.WARNING)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise SystemExit(f"{self.name} exited; see {self.log.name}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"{self.name} not ready in {timeout}s; see {self.log.name}")

    def stop(self) -> None:
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
            self.popen.wait(15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.log.close()


def tf_request_body(work: Path) -> tuple[Path, bytes]:
    """The runtime tests' Keras MLP and one EAS TF protobuf request for it."""
    subprocess.run([PYTHON, "-c", f"from pathlib import Path\nfrom tests.runtime.models import build_keras_mlp\n"
                                  f"build_keras_mlp(Path({str(work)!r}))"],
                   cwd=REPO_ROOT, check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    from services.runtime.protos import tf_predict_pb2

    request = tf_predict_pb2.PredictRequest(signature_name="predict_images")
    images = request.inputs["images"]
    images.dtype = tf_predict_pb2.DT_FLOAT
    images.array_shape.dim.extend([1, 784])
    images.float_val.extend([0.5] * 784)
    return work / "mnist_saved_model", request.SerializeToString()


def prepare_database(env: dict, instances: dict[str, int]) -> None:
    """Migrate a private SQLite database and register one service per instance."""
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from console.iam.models import Account
    from services.models import Instance, Service

    call_command("migrate", verbosity=0)
    account = Account.objects.create(name="bench", owner=get_user_model().objects.create(username="bench"))
    for name, port in instances.items():
        service = Service.objects.create(account=account, region=settings.EAS_REGION, name=name, token=TOKEN,
                                         status=Service.Status.RUNNING)
        Instance.objects.create(service=service, version=1, name=f"{name}-1", host="127.0.0.1", port=port,
                                cpu=1, memory_mb=512, status=Instance.Status.RUNNING)


def run_wrk(url: str, body_file: Path, concurrency: int, seconds: float, script: Path,
            cpus: set[int] | None) -> dict:
    completed = subprocess.run(
        ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, env={**os.environ, "BENCH_BODY": str(body_file), "BENCH_TOKEN": TOKEN},
        check=True, preexec_fn=pinned(cpus))
    out = completed.stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"errors during the run:\n{out}")

    def latency_ms(percentile: str) -> float:
        value, unit = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": latency_ms("50"), "p99": latency_ms("99")}


async def run_aiohttp(url: str, body: bytes, concurrency: int, seconds: float) -> dict:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": TOKEN, "Content-Type": "application/octet-stream"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            while (started := time.perf_counter()) < deadline:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        raise SystemExit(f"{url} answered {response.status}")
                latencies.append(time.perf_counter() - started)

        begun = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - begun
    latencies.sort()
    return {"rps": len(latencies) / elapsed, "p50": latencies[len(latencies) // 2] * 1000,
            "p99": latencies[int(len(latencies) * 0.99)] * 1000}


def measure(tool: str, url: str, body_file: Path, concurrency: int, seconds: float, script: Path,
            cpus: set[int] | None) -> dict:
    if tool == "wrk":
        return run_wrk(url, body_file, concurrency, seconds, script, cpus)
    return asyncio.run(run_aiohttp(url, body_file.read_bytes(), concurrency, seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--no-tf", action="store_true", help="skip the TensorFlow model")
    parser.add_argument("--client", choices=["wrk", "aiohttp"], default="wrk" if shutil.which("wrk") else "aiohttp")
    parser.add_argument("--pin", action="store_true",
                        help="instances on the last CPU, gateway and load generator on the others (as when the "
                             "gateway has machines of its own)")
    args = parser.parse_args()
    instance_cpus = other_cpus = None
    if args.pin:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            raise SystemExit("--pin needs at least 2 CPUs")
        instance_cpus, other_cpus = {cpus[-1]}, set(cpus[:-1])
        os.sched_setaffinity(0, other_cpus)  # the aiohttp load generator, when used

    work = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    processes: list[Process] = []
    try:
        (work / "echo").mkdir()
        (work / "echo" / "app.py").write_text(ECHO_APP)
        (work / "echo.body").write_bytes(b'[{"sex": 0, "cp": 0, "fbs": 0, "restecg": 0, "age": 63}]')
        (work / "post.lua").write_text(WRK_SCRIPT)
        models = {"echo": (["--processor-type", "python", "--processor-path", str(work / "echo"),
                            "--processor-entry", "app.py"], work / "echo.body")}
        if not args.no_tf:
            model_path, body = tf_request_body(work)
            (work / "tf.body").write_bytes(body)
            models["tf_mlp"] = (["--processor", "tensorflow_cpu_2.7", "--model", str(model_path)], work / "tf.body")

        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "console.settings", "EAS_DATA_DIR": str(work),
               "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}", "TF_CPP_MIN_LOG_LEVEL": "2",
               "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")}
        ports = {}
        for name, (runtime_args, _) in models.items():
            ports[name] = free_port()
            processes.append(Process(name, [PYTHON, "-m", "services.runtime", "--host", "127.0.0.1", "--port",
                                            str(ports[name]), *runtime_args], env, work, instance_cpus))
        prepare_database(env, ports)
        gateway_port = free_port()
        processes.append(Process("gateway", [PYTHON, "-m", "uvicorn", "services.gateway.app:application", "--host",
                                             "127.0.0.1", "--port", str(gateway_port), "--no-access-log",
                                             "--log-level", "warning"], env, work, other_cpus))
        for process in processes:
            port = gateway_port if process.name == "gateway" else ports[process.name]
            process.wait_http(f"http://127.0.0.1:{port}/" + ("healthz" if process.name == "gateway" else "health"))

        placement = (f"instances on CPU {sorted(instance_cpus)}, gateway and load on CPUs {sorted(other_cpus)}"
                     if args.pin else "no CPU pinning")
        print(f"load generator: {args.client}; {args.seconds:g} s per run; {placement}; logs in {work}")
        rows = []
        for name, (_, body_file) in models.items():
            targets = {"direct": f"http://127.0.0.1:{ports[name]}/api/predict/{name}",
                       "gateway": f"http://127.0.0.1:{gateway_port}/api/predict/{name}"}
            for target in targets.values():  # warm up connections, caches and the model
                measure(args.client, target, body_file, 4, 2, work / "post.lua", other_cpus)
            for concurrency in args.concurrency:
                results = {via: measure(args.client, url, body_file, concurrency, args.seconds, work / "post.lua",
                                        other_cpus) for via, url in targets.items()}
                rows.append((name, concurrency, results))

        print("\n| model | conc. | direct p50 / p99 ms | gateway p50 / p99 ms | p50 overhead ms "
              "| direct rps | gateway rps | throughput |")
        print("|---|---|---|---|---|---|---|---|")
        for name, concurrency, results in rows:
            direct, gateway = results["direct"], results["gateway"]
            print(f"| {name} | {concurrency} | {direct['p50']:.2f} / {direct['p99']:.2f} "
                  f"| {gateway['p50']:.2f} / {gateway['p99']:.2f} | {gateway['p50'] - direct['p50']:+.2f} "
                  f"| {direct['rps']:.0f} | {gateway['rps']:.0f} | {gateway['rps'] / direct['rps']:.0%} |")
    finally:
        for process in reversed(processes):
            process.stop()


if __name__ == "__main__":
    main()
