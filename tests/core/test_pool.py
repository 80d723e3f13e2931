"""The providers' pool decides exactly as httpcore's own and stays linear: both assignment
passes run over the same random pools — httpcore's installed pass is the reference, so a
new httpcore that decides differently fails here — and the pass is counted."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import httpcore
import pytest

from tui.core.providers.factory import build_provider
from tui.core.providers.pool import LinearPool
from tui.core.settings import load_settings

ORIGINS = ("a", "b", "c")


@dataclass(eq=False)
class FakeConnection:
    """A connection in a fixed state; every question asked of it is counted."""

    name: str
    origin: str
    closed: bool = False
    expired: bool = False
    idle: bool = False
    available: bool = False
    asked: list[str] = field(default_factory=list)

    def is_closed(self) -> bool:
        self.asked.append("is_closed")
        return self.closed

    def has_expired(self) -> bool:
        self.asked.append("has_expired")
        return self.expired

    def is_idle(self) -> bool:
        self.asked.append("is_idle")
        return self.idle

    def can_handle_request(self, origin: str) -> bool:
        self.asked.append("can_handle_request")
        return origin == self.origin

    def is_available(self) -> bool:
        self.asked.append("is_available")
        return self.available


@dataclass(eq=False)
class FakeRequest:
    origin: str
    queued: bool
    connection: str | None = None

    @property
    def request(self) -> Any:
        return type("R", (), {"url": type("U", (), {"origin": self.origin})()})()

    def is_queued(self) -> bool:
        return self.queued

    def assign_to_connection(self, connection: FakeConnection) -> None:
        self.connection = connection.name


def fill(pool: httpcore.AsyncConnectionPool, seed: int) -> list[FakeRequest]:
    """The same random pool for the same seed: connections in every state, requests
    queued and not, to every origin."""
    rng = random.Random(seed)
    connections = []
    for n in range(rng.randint(0, 12)):
        state = rng.choice(("closed", "expired", "idle", "active", "connecting"))
        connections.append(
            FakeConnection(
                name=f"c{n}",
                origin=rng.choice(ORIGINS),
                closed=state == "closed",
                expired=state == "expired" or (state == "idle" and rng.random() < 0.2),
                idle=state == "idle",
                available=state == "idle" or (state == "active" and rng.random() < 0.3),
            )
        )
    requests = [
        FakeRequest(origin=rng.choice(ORIGINS), queued=rng.random() < 0.7)
        for _ in range(rng.randint(0, 6))
    ]
    pool._connections = connections  # type: ignore[assignment]
    pool._requests = requests  # type: ignore[assignment]
    created = iter(range(100))
    pool.create_connection = lambda origin: FakeConnection(  # type: ignore[method-assign]
        name=f"new{next(created)}", origin=origin, available=True
    )
    return requests


def decide(pool_class: type[httpcore.AsyncConnectionPool], seed: int, **limits: int) -> Any:
    pool = pool_class(**limits)
    requests = fill(pool, seed)
    closing = pool._assign_requests_to_connections()
    return (
        [c.name for c in closing],  # type: ignore[attr-defined]
        [c.name for c in pool._connections],  # type: ignore[attr-defined]
        [r.connection for r in requests],
    )


@pytest.mark.parametrize(
    "limits",
    [
        {"max_connections": 64, "max_keepalive_connections": 32},  # the providers' own
        {"max_connections": 4, "max_keepalive_connections": 2},  # full pools: make room
        {"max_connections": 8, "max_keepalive_connections": 0},
        {"max_connections": 1, "max_keepalive_connections": 1},
    ],
)
def test_the_linear_pass_decides_as_httpcores_own_on_random_pools(limits: dict[str, int]) -> None:
    decided_something = 0
    for seed in range(400):
        theirs = decide(httpcore.AsyncConnectionPool, seed, **limits)
        ours = decide(LinearPool, seed, **limits)
        assert ours == theirs, f"seed {seed}, limits {limits}"
        decided_something += bool(theirs[0] or any(theirs[2]))
    assert decided_something > 100  # the pools did exercise closing and assigning


def test_a_pass_asks_each_connection_a_bounded_number_of_questions() -> None:
    """httpcore's pass asks every connection whether it is idle once per idle connection
    (a thousand questions in a pool of 32); this one a few per connection and request."""
    for pool_class, most in ((httpcore.AsyncConnectionPool, None), (LinearPool, 6)):
        pool = pool_class(max_connections=64, max_keepalive_connections=32)
        pool._connections = [  # type: ignore[assignment]
            FakeConnection(name=f"c{n}", origin="a", idle=n % 2 == 0, available=n % 2 == 0)
            for n in range(32)
        ]
        pool._requests = [FakeRequest(origin="a", queued=True)]  # type: ignore[assignment]
        pool._assign_requests_to_connections()
        asked = max(len(c.asked) for c in pool._connections)  # type: ignore[attr-defined]
        if most is None:
            assert asked > 16  # the quadratic pass this replaces
        else:
            assert asked <= most


async def test_every_providers_transport_pools_on_the_linear_pass() -> None:
    section = {"base_url": "http://127.0.0.1:9", "access_token": "t"}
    provider = build_provider("shoplazza", load_settings(shoplazza=section))
    try:
        pool = provider.http.client._transport._pool  # type: ignore[attr-defined]
        assert isinstance(pool, LinearPool)
    finally:
        await provider.aclose()
