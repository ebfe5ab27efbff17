"""`eascmd test <service.json>`: run a service on this machine with the platform's own instance
runtime (`python -m services.runtime`), no cluster and no credentials needed.

Model and processor paths may be local (relative to the JSON file). The runtime's log goes to
the terminal; Ctrl-C (or SIGTERM) is passed on, so the instance stops gracefully.
"""
import signal
import subprocess
import sys
import time

import httpx

from console.cli.commands import read_json_file

HEALTH_POLL_SECONDS = 0.2


def wait_until_ready(process: subprocess.Popen, base_url: str) -> bool:
    """True once /health answers 200; False if the runtime exits first."""
    while process.poll() is None:
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(HEALTH_POLL_SECONDS)
    return False


def run_locally(args, session) -> int:
    _, description = read_json_file(args.service_json)
    name = description.get("name") or "local"
    command = [sys.executable, "-m", "services.runtime", "--service-json", args.service_json,
               "--host", args.host, "--port", str(args.port)]
    base_url = f"http://{args.host}:{args.port}"
    print(f"[OK] Starting service [{name}] locally: {' '.join(command[1:])}", flush=True)
    process = subprocess.Popen(command)

    def forward(signum, _frame):
        process.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        if wait_until_ready(process, base_url):
            print(f"[OK] Service is running, listening on {base_url}/api/predict/{name} "
                  "(Ctrl-C to stop)", flush=True)
        return process.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def register(subparsers, common) -> None:
    help_text = "Run a service description on this machine with the platform's runtime (no cluster needed)."
    parser = subparsers.add_parser("test", parents=[common], help=help_text, description=help_text)
    parser.add_argument("service_json", help="service description; local model/processor paths are allowed")
    parser.add_argument("--port", type=int, default=8080, help="HTTP port (default 8080)")
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    parser.set_defaults(handler=run_locally)
