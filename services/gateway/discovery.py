"""VPC direct connection (G2): the instance list clients use to call instances without the gateway.

Two paths answer the same document: the one the `eas-prediction` SDK polls every few seconds
(`ENDPOINT_TYPE_DIRECT`) and the one the seed documents for hand-written clients. Only services
on a dedicated resource group with direct connection enabled are listed. Only instances passing
the gateway's health checks are listed; each carries its service's share of the endpoint's
traffic, scaled so the largest is 100, as the SDK's weighted round-robin expects whole numbers.
"""
from __future__ import annotations

from .routing import Route, RoutingTable

PATH_PREFIXES = (
    "/api/v1/servicediscovery/upstreams/",
    "/exported/apis/eas.alibaba-inc.k8s.io/v1/upstreams/",
)


def service_name(path: str) -> str | None:
    for prefix in PATH_PREFIXES:
        if path.startswith(prefix):
            return path[len(prefix):].split("/")[0]
    return None


def upstreams(table: RoutingTable, name: str) -> tuple[int, dict]:
    """(HTTP status, JSON document) of the discovery answer for endpoint `name`."""
    route = table.routes.get(name)
    if route is None:
        if name in table.closed:
            return 404, {"message": f"service {name} is released into {table.closed[name]}; "
                                    f"discover {table.closed[name]} instead"}
        return 404, {"message": f"service {name} does not exist"}
    if route.direct_refusal:
        return 403, {"message": route.direct_refusal}
    return 200, {
        "correlative": [member.service for member in route.members],
        "endpoints": {"items": _items(route)},
    }


def _items(route: Route) -> list[dict]:
    shares = []
    for member in route.members:
        healthy = [backend for backend in member.backends if backend.up]
        if healthy and (member.weight > 0 or len(route.members) == 1):
            share = (member.weight or 1) / len(healthy)
            shares += [(backend, share) for backend in healthy]
    if not shares:
        return []
    largest = max(share for _, share in shares)
    return [{
        "app": backend.service.replace("_", "-"),
        "ip": backend.host,
        "port": backend.port,
        "weight": max(1, round(100 * share / largest)),
    } for backend, share in shares]
