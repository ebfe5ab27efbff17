"""Sampling the host's spec and usage for registration and heartbeats."""
import shutil
import socket
import subprocess

import psutil

# How `nodeagent --gpu N` tells the agent's instance supervisor which GPUs it may hand out.
AGENT_GPUS_VARIABLE = "EAS_AGENT_GPUS"


def host_spec() -> dict:
    """What this machine offers when nothing is configured: all cores, all memory, its GPUs."""
    gpus = gpu_inventory()
    return {
        "cpu": psutil.cpu_count() or 1,
        "memory_mb": psutil.virtual_memory().total // (1024 * 1024),
        "gpu": len(gpus),
        "gpu_type": gpus[0]["name"] if gpus else "",
    }


def host_ip() -> str:
    """The address other machines reach this one on (loopback when there is no route out)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # no packet is sent for a UDP connect
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def gpu_inventory() -> list[dict]:
    """GPUs reported by nvidia-smi, with their utilisation; empty without an NVIDIA driver."""
    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,utilization.gpu", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout
    except (subprocess.SubprocessError, OSError):
        return []
    gpus = []
    for line in out.strip().splitlines():
        name, _, util = line.rpartition(",")
        gpus.append({"name": name.strip(), "utilization": float(util.strip() or 0)})
    return gpus


def current_usage() -> dict:
    """CPU cores busy, memory used and mean GPU utilisation right now."""
    cores = psutil.cpu_count() or 1
    gpus = gpu_inventory()
    return {
        "cpu_used": round(psutil.cpu_percent(interval=None) / 100.0 * cores, 2),
        "memory_used_mb": (psutil.virtual_memory().total - psutil.virtual_memory().available)
        // (1024 * 1024),
        "gpu_utilization": sum(g["utilization"] for g in gpus) / len(gpus) if gpus else 0.0,
    }
