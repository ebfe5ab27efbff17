"""Gateway tunables, read once from the environment; the defaults suit a single machine."""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta


def _number(environ, name: str, default: float) -> float:
    value = environ.get(name, "")
    return float(value) if value.strip() else default


@dataclass(frozen=True)
class GatewayConfig:
    max_body_bytes: int = 100 * 1024 * 1024
    poll_seconds: float = 5.0            # full routing-table rebuild, covers lost notifications
    health_interval: float = 0.5         # active /health probe of every routed instance
    health_timeout: float = 0.4          # a probe slower than this counts as a failure
    connect_timeout: float = 2.0
    upstream_timeout: float = 600.0      # instances answer 408 themselves after rpc.keepalive
    connections_per_instance: int = 512
    metrics_flush_seconds: float = 10.0
    metrics_retention: timedelta = timedelta(days=7)

    @classmethod
    def from_env(cls, environ=os.environ) -> GatewayConfig:
        return cls(
            max_body_bytes=int(_number(environ, "EAS_GATEWAY_MAX_BODY_MB", 100) * 1024 * 1024),
            poll_seconds=_number(environ, "EAS_GATEWAY_POLL_SECONDS", cls.poll_seconds),
            health_interval=_number(environ, "EAS_GATEWAY_HEALTH_INTERVAL", cls.health_interval),
            health_timeout=_number(environ, "EAS_GATEWAY_HEALTH_TIMEOUT", cls.health_timeout),
            connect_timeout=_number(environ, "EAS_GATEWAY_CONNECT_TIMEOUT", cls.connect_timeout),
            upstream_timeout=_number(environ, "EAS_GATEWAY_UPSTREAM_TIMEOUT", cls.upstream_timeout),
            connections_per_instance=int(_number(environ, "EAS_GATEWAY_CONNECTIONS_PER_INSTANCE",
                                                 cls.connections_per_instance)),
            metrics_flush_seconds=_number(environ, "EAS_METRICS_FLUSH_SECONDS", cls.metrics_flush_seconds),
            metrics_retention=timedelta(days=_number(environ, "EAS_METRICS_RETENTION_DAYS", 7)),
        )
