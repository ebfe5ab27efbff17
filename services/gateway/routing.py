"""The in-memory routing table: which instances answer which endpoint, and how a call picks one.

An endpoint N is served by the service named N (unless that service is itself a released
associate) and by every released associate whose origin is N, each with its traffic weight;
the original gets what the associates leave of 100. Calls pick a service by smooth weighted
round-robin (so a 20 % weight gets exactly every fifth call) and then that service's
least-loaded healthy instance. The table is rebuilt from a `Snapshot` of the database; an
instance that survives a rebuild keeps its `Backend` (health, in-flight count, connection pool).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ServiceRecord:
    name: str
    token: str
    origin_name: str
    released: bool
    traffic_weight: int
    direct_refusal: str | None  # why direct connection is refused; None when it is allowed


@dataclass(frozen=True)
class InstanceRecord:
    name: str
    service: str
    host: str
    port: int


@dataclass(frozen=True)
class Snapshot:
    services: tuple[ServiceRecord, ...]
    instances: tuple[InstanceRecord, ...]


class Backend:
    """One Running instance as the gateway sees it; `up` is the gateway's own health verdict."""

    __slots__ = ("name", "service", "host", "port", "token_header", "base_url", "up", "in_flight", "pool", "stats")

    def __init__(self, record: InstanceRecord, token: str):
        self.name = record.name
        self.service = record.service
        self.host = record.host
        self.port = record.port
        self.set_token(token)
        self.base_url = f"http://{record.host}:{record.port}"
        self.up = True  # the agent reported it Running only after its /health answered
        self.in_flight = 0
        self.pool = None  # its connections, opened by the proxy
        self.stats = None  # its call counters, attached by the metrics

    def set_token(self, token: str) -> None:
        """The Authorization the gateway sends the instance: its service's plain token, if any."""
        usable = token and "\r" not in token and "\n" not in token
        self.token_header = token.encode() if usable else None

    def __repr__(self):
        return f"<Backend {self.name} {self.base_url} {'up' if self.up else 'down'}>"


class Member:
    """One service behind an endpoint, with its share of the endpoint's traffic."""

    __slots__ = ("service", "weight", "backends", "current", "cursor")

    def __init__(self, service: str, weight: int, backends: list[Backend]):
        self.service = service
        self.weight = weight
        self.backends = backends
        self.current = 0  # smooth weighted round-robin state
        self.cursor = 0   # rotates the start of the least-loaded scan, so ties are spread

    def can_take(self, exclude) -> bool:
        return any(backend.up and backend not in exclude for backend in self.backends)

    def least_loaded(self, exclude) -> Backend | None:
        backends = self.backends
        count = len(backends)
        if not count:
            return None
        self.cursor = start = (self.cursor + 1) % count
        best = None
        for offset in range(count):
            backend = backends[(start + offset) % count]
            if backend.up and backend not in exclude and (best is None or backend.in_flight < best.in_flight):
                best = backend
                if not backend.in_flight:
                    break
        return best


@dataclass(eq=False)
class Route:
    """One callable endpoint name."""

    name: str
    tokens: tuple[str, ...]  # any of them authorizes a call; empty: no token needed
    members: list[Member]
    direct_refusal: str | None
    stats: object = None  # the endpoint's call counters, attached by the metrics

    def pick(self, exclude=()) -> Backend | None:
        """A healthy instance not in `exclude`, or None when no member can take the call."""
        members = self.members
        if len(members) == 1:
            return members[0].least_loaded(exclude)
        total = 0
        chosen = None
        for member in members:
            if member.weight <= 0 or not member.can_take(exclude):
                continue
            member.current += member.weight
            total += member.weight
            if chosen is None or member.current > chosen.current:
                chosen = member
        if chosen is None:
            return None
        chosen.current -= total
        return chosen.least_loaded(exclude)


@dataclass
class RoutingTable:
    routes: dict[str, Route] = field(default_factory=dict)
    closed: dict[str, str] = field(default_factory=dict)  # released associate -> the endpoint serving it
    backends: dict[tuple[str, str, int], Backend] = field(default_factory=dict)

    def rebuild(self, snapshot: Snapshot) -> tuple[list[Backend], list[Backend]]:
        """Replace the routes with the snapshot's; returns the (added, retired) backends."""
        services = {service.name: service for service in snapshot.services}
        previous = self.backends
        backends: dict[tuple[str, str, int], Backend] = {}
        by_service: dict[str, list[Backend]] = {}
        for record in snapshot.instances:
            service = services.get(record.service)
            if service is None:
                continue
            key = (record.name, record.host, record.port)
            backend = previous.get(key) or Backend(record, service.token)
            backend.set_token(service.token)
            backends[key] = backend
            by_service.setdefault(record.service, []).append(backend)

        routes: dict[str, Route] = {}
        closed: dict[str, str] = {}
        released: dict[str, list[ServiceRecord]] = {}
        for service in snapshot.services:
            if service.origin_name and service.released:
                released.setdefault(service.origin_name, []).append(service)
                closed[service.name] = service.origin_name
        for name in {s.name for s in snapshot.services if s.name not in closed} | released.keys():
            routes[name] = _route(name, services.get(name), released.get(name, []), by_service)

        self.routes, self.closed, self.backends = routes, closed, backends
        added = [b for key, b in backends.items() if key not in previous]
        retired = [b for key, b in previous.items() if key not in backends]
        return added, retired


def _route(name: str, original: ServiceRecord | None, associates: list[ServiceRecord],
           by_service: dict[str, list[Backend]]) -> Route:
    associates = sorted(associates, key=lambda s: s.name)
    members = [Member(a.name, a.traffic_weight, by_service.get(a.name, [])) for a in associates]
    if original is not None:
        share = max(0, 100 - sum(a.traffic_weight for a in associates))
        members.insert(0, Member(original.name, share, by_service.get(original.name, [])))
        tokens = (original.token,) if original.token else ()
        direct_refusal = original.direct_refusal
    else:
        if not any(member.weight for member in members):
            for member in members:
                member.weight = 1
        tokens = tuple(sorted({a.token for a in associates if a.token}))
        direct_refusal = associates[0].direct_refusal
    return Route(name, tokens, members, direct_refusal)
