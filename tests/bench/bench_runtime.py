"""Benchmark of the instance server (services.runtime) on a small TensorFlow MLP.

Compares, in one run and with one load generator:
  * the instance server with server-side batching off vs on (rpc.batching, max 16 / 50 ms);
  * the instance server vs a plain Flask + TensorFlow wrapper serving the same SavedModel with
    the same EAS protobuf request/response.

Usage (from the repository root):
    .venv/bin/python tests/bench/bench_runtime.py [--seconds 10] [--concurrency 64]

Prints a table and the ratios. Not collected by pytest (bench_*.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from services.runtime.protos import tf_predict_pb2  # noqa: E402
from tests.runtime.models import build_keras_mlp  # noqa: E402

FLASK_WRAPPER = '''
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, tensorflow as tf
from flask import Flask, Response, request
sys.path.insert(0, sys.argv[3])
from services.runtime.protos import tf_predict_pb2

signature = tf.saved_model.load(sys.argv[1]).signatures["predict_images"]
app = Flask(__name__)

@app.post("/")
def predict():
    req = tf_predict_pb2.PredictRequest.FromString(request.get_data())
    array = req.inputs["images"]
    images = np.asarray(array.float_val, dtype=np.float32).reshape(tuple(array.array_shape.dim))
    scores = signature(images=tf.constant(images))["scores"].numpy()
    resp = tf_predict_pb2.PredictResponse()
    out = resp.outputs["scores"]
    out.dtype = tf_predict_pb2.DT_FLOAT
    out.array_shape.dim.extend(scores.shape)
    out.float_val.extend(scores.ravel().tolist())
    return Response(resp.SerializeToString(), mimetype="application/octet-stream")

@app.get("/health")
def health():
    return "ok"

app.run(host="127.0.0.1", port=int(sys.argv[2]), threaded=True)
'''


def build_model(directory: Path) -> Path:
    """The benchmark's MLP: the tests' MNIST-shaped model with a wider hidden layer."""
    return build_keras_mlp(directory, hidden=128, epochs=1, name="mlp")


def request_body() -> bytes:
    request = tf_predict_pb2.PredictRequest(signature_name="predict_images")
    array = request.inputs["images"]
    array.dtype = tf_predict_pb2.DT_FLOAT
    array.array_shape.dim.extend([1, 784])
    array.float_val.extend(np.random.default_rng(1).random(784, dtype=np.float32).tolist())
    return request.SerializeToString()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, name: str, command: list[str], port: int, log_dir: Path) -> None:
        self.name = name
        self.port = port
        self.log = log_dir / f"{name.replace(' ', '_')}.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)

    async def wait_ready(self, session: aiohttp.ClientSession, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log}")
            try:
                async with session.get(f"http://127.0.0.1:{self.port}/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready; see {self.log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()


async def load(url: str, body: bytes, concurrency: int, seconds: float) -> dict:
    """Closed loop: `concurrency` clients send back-to-back requests for `seconds`."""
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        stop_at = time.perf_counter() + seconds

        async def client() -> None:
            nonlocal errors
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                try:
                    async with session.post(url, data=body) as response:
                        await response.read()
                        ok = response.status == 200
                except aiohttp.ClientError:
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    values = np.array(latencies) * 1000
    return {
        "ok": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50": float(np.percentile(values, 50)) if len(values) else float("nan"),
        "p99": float(np.percentile(values, 99)) if len(values) else float("nan"),
    }


async def bench(seconds: float, concurrency: int, work: Path) -> list[tuple[str, dict]]:
    model = build_model(work)
    body = request_body()
    runtime = [sys.executable, "-m", "services.runtime", "--processor", "tensorflow_cpu_2.7", "--model", str(model),
               "--host", "127.0.0.1"]
    scenarios = [
        ("instance, batching off", lambda port: runtime + ["--port", str(port)]),
        ("instance, batching on", lambda port: runtime + ["--port", str(port), "--metadata",
                                                          '{"rpc.batching": true}']),
        ("flask + tensorflow", lambda port: [sys.executable, "-c", FLASK_WRAPPER, str(model), str(port),
                                             str(REPO_ROOT)]),
    ]
    results = []
    async with aiohttp.ClientSession() as session:
        for name, command in scenarios:
            port = free_port()
            server = Server(name, command(port), port, work)
            try:
                await server.wait_ready(session)
                url = f"http://127.0.0.1:{port}/"
                await load(url, body, concurrency, min(2.0, seconds))  # warm-up
                results.append((name, await load(url, body, concurrency, seconds)))
            finally:
                server.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-runtime-") as work:
        results = asyncio.run(bench(args.seconds, args.concurrency, Path(work)))
    print(f"\nsmall MLP (784-128-10), 1 row per request, concurrency {args.concurrency}, {args.seconds:.0f}s each, "
          f"{os.cpu_count()} CPUs\n")
    print(f"{'server':<24} {'requests':>9} {'errors':>7} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, r in results:
        print(f"{name:<24} {r['ok']:>9} {r['errors']:>7} {r['rps']:>9.0f} {r['p50']:>8.2f} {r['p99']:>8.2f}")
    by_name = dict(results)
    off, on, flask = by_name["instance, batching off"], by_name["instance, batching on"], by_name["flask + tensorflow"]
    print()
    print(f"batching on / off:          throughput x{on['rps'] / off['rps']:.2f}, p99 x{on['p99'] / off['p99']:.2f}")
    print(f"instance (off) / flask:     throughput x{off['rps'] / flask['rps']:.2f}, p99 x{off['p99'] / flask['p99']:.2f}")
    print(f"instance (on) / flask:      throughput x{on['rps'] / flask['rps']:.2f}, p99 x{on['p99'] / flask['p99']:.2f}")


if __name__ == "__main__":
    main()
