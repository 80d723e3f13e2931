"""The providers' pool decides as httpcore's own, never hands one connection to two requests,
and stays linear: both assignment passes run over the same random pools — httpcore's
installed pass is the reference, so a new httpcore that decides differently fails here —
the pass is counted, and real requests over HTTP are watched for a connection handed twice."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx
import pytest
from httpcore._async.connection_pool import AsyncPoolRequest

from tui.core.providers.factory import build_provider
from tui.core.providers.pool import LinearPool
from tui.core.settings import load_settings
from tui.sandbox import SandboxServer

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
    """A request in the pool: queued (no connection yet) or handed ``connection``."""

    origin: str
    connection: FakeConnection | None = None

    @property
    def request(self) -> Any:
        return type("R", (), {"url": type("U", (), {"origin": self.origin})()})()

    def is_queued(self) -> bool:
        return self.connection is None

    def assign_to_connection(self, connection: FakeConnection) -> None:
        self.connection = connection


def fill(
    pool: httpcore.AsyncConnectionPool, seed: int, *, held_idle: bool, queued: int
) -> list[FakeRequest]:
    """The same random pool for the same seed: connections in every state, requests in
    flight on the active ones (``held_idle``: some also handed an idle connection they have
    not started on) and up to ``queued`` requests waiting, to every origin."""
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
                available=state == "idle",
            )
        )
    requests = [
        FakeRequest(origin=c.origin, connection=c)
        for c in connections
        if (not c.idle and rng.random() < 0.8) or (held_idle and c.idle and rng.random() < 0.4)
    ]
    requests += [FakeRequest(origin=rng.choice(ORIGINS)) for _ in range(rng.randint(0, queued))]
    rng.shuffle(requests)
    pool._connections = connections  # type: ignore[assignment]
    pool._requests = requests  # type: ignore[assignment]
    created = iter(range(100))
    pool.create_connection = lambda origin: FakeConnection(  # type: ignore[method-assign]
        name=f"new{next(created)}", origin=origin, idle=True, available=True
    )
    return requests


def names(connections: Any) -> list[str]:
    return [c.name for c in connections]


def decide(
    pool_class: type[httpcore.AsyncConnectionPool], seed: int, limits: dict[str, int], **how: Any
) -> Any:
    pool = pool_class(**limits)
    requests = fill(pool, seed, **how)
    closing = pool._assign_requests_to_connections()
    return names(closing), names(pool._connections), [r.connection for r in requests]


LIMITS = [
    {"max_connections": 64, "max_keepalive_connections": 32},  # the providers' own
    {"max_connections": 4, "max_keepalive_connections": 2},  # full pools: make room
    {"max_connections": 8, "max_keepalive_connections": 0},
    {"max_connections": 1, "max_keepalive_connections": 1},
]


@pytest.mark.parametrize("limits", LIMITS)
def test_one_request_at_a_time_the_pass_decides_as_httpcores_own(limits: dict[str, int]) -> None:
    """Where httpcore could not hand a connection twice — no request holds an idle one, one
    request waits — both passes drop, close, reuse and create the same connections."""
    decided_something = 0
    for seed in range(400):
        theirs = decide(httpcore.AsyncConnectionPool, seed, limits, held_idle=False, queued=1)
        ours = decide(LinearPool, seed, limits, held_idle=False, queued=1)
        assert ours[:2] == theirs[:2], f"seed {seed}, limits {limits}"
        assert [c and c.name for c in ours[2]] == [c and c.name for c in theirs[2]]
        created = any(c is not None and c.name.startswith("new") for c in theirs[2])
        decided_something += bool(theirs[0]) + created
    assert decided_something > 100  # the pools did exercise closing and creating


@pytest.mark.parametrize("limits", LIMITS)
def test_a_connection_is_never_handed_to_two_requests_nor_closed_under_one(
    limits: dict[str, int],
) -> None:
    for seed in range(400):
        pool = LinearPool(**limits)
        requests = fill(pool, seed, held_idle=True, queued=4)
        held_before = {id(r.connection) for r in requests if r.connection is not None}
        waiting = [r for r in requests if r.connection is None]
        closing = pool._assign_requests_to_connections()
        handed = [id(r.connection) for r in requests if r.connection is not None]
        assert len(handed) == len(set(handed)), f"seed {seed}: a connection handed twice"
        for connection in closing:  # closed under a request only because it expired
            assert id(connection) not in held_before or connection.expired, f"seed {seed}"
        # A request left waiting had nothing it could take: no free connection to its
        # origin, no room, and no free idle connection to close for room.
        free = [c for c in pool._connections if id(c) not in set(handed)]
        for request in waiting:
            if request.connection is None:
                assert not any(c.origin == request.origin and c.available for c in free)
                assert len(pool._connections) >= pool._max_connections
                assert not any(c.idle for c in free)


def test_a_pass_asks_each_connection_a_bounded_number_of_questions() -> None:
    """httpcore's pass asks every connection whether it is idle once per idle connection
    (a thousand questions in a pool of 32); this one a few per connection and request."""
    for pool_class, most in ((httpcore.AsyncConnectionPool, None), (LinearPool, 6)):
        pool = pool_class(max_connections=64, max_keepalive_connections=32)
        pool._connections = [  # type: ignore[assignment]
            FakeConnection(name=f"c{n}", origin="a", idle=n % 2 == 0, available=n % 2 == 0)
            for n in range(32)
        ]
        pool._requests = [FakeRequest(origin="a")]  # type: ignore[assignment]
        pool._assign_requests_to_connections()
        asked = max(len(c.asked) for c in pool._connections)  # type: ignore[attr-defined]
        if most is None:
            assert asked > 16  # the quadratic pass this replaces
        else:
            assert asked <= most


async def requests_handed_a_taken_connection(
    client: httpx.AsyncClient, url: str, monkeypatch: pytest.MonkeyPatch
) -> int:
    """How often a request, in rounds of 16 at once on a warm pool, was handed a connection
    another request had taken first (httpcore then clears it and queues it again)."""
    cleared = 0
    real_clear = AsyncPoolRequest.clear_connection

    def counting_clear(self: AsyncPoolRequest) -> None:
        nonlocal cleared
        cleared += 1
        real_clear(self)

    monkeypatch.setattr(AsyncPoolRequest, "clear_connection", counting_clear)
    try:
        for _ in range(4):
            answers = await asyncio.gather(*(client.get(url) for _ in range(16)))
            assert all(answer.status_code == 200 for answer in answers)
    finally:
        monkeypatch.undo()
    return cleared


async def test_real_requests_are_never_handed_a_taken_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with SandboxServer() as server:
        url = f"{server.root_url}/_sandbox/health"
        section = {"base_url": f"{server.root_url}/shoplazza", "access_token": "t"}
        provider = build_provider("shoplazza", load_settings(shoplazza=section))
        stock = httpx.AsyncClient(limits=httpx.Limits(max_connections=64))
        try:
            # The probe: httpcore's own pool, same load, does hand taken connections out.
            assert await requests_handed_a_taken_connection(stock, url, monkeypatch) > 0
            ours = provider.http.client
            assert await requests_handed_a_taken_connection(ours, url, monkeypatch) == 0
        finally:
            await stock.aclose()
            await provider.aclose()


async def test_every_providers_transport_pools_on_the_linear_pass() -> None:
    section = {"base_url": "http://127.0.0.1:9", "access_token": "t"}
    provider = build_provider("shoplazza", load_settings(shoplazza=section))
    try:
        pool = provider.http.client._transport._pool  # type: ignore[attr-defined]
        assert isinstance(pool, LinearPool)
    finally:
        await provider.aclose()


async def test_a_kept_connection_the_server_closed_is_not_handed_out_again() -> None:
    """A server that closes a kept-alive connection once it has answered: the next request
    gets a new connection, not the closed one (no "server disconnected")."""
    connections = 0

    async def answer_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")
        await writer.drain()
        writer.close()  # kept alive as far as the client knows, closed here

    server = await asyncio.start_server(answer_then_close, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    section = {"base_url": f"http://127.0.0.1:{port}", "access_token": "t"}
    provider = build_provider("shoplazza", load_settings(shoplazza=section))
    try:
        client = provider.http.client
        for _ in range(3):
            answer = await client.get(f"http://127.0.0.1:{port}/")
            assert answer.status_code == 200 and answer.text == "ok"
            await asyncio.sleep(0.05)  # the close reaches the idle connection's socket
        assert connections == 3
    finally:
        await provider.aclose()
        server.close()
        await server.wait_closed()


def test_the_pool_is_for_http1_only() -> None:
    """An HTTP/2 connection serves many requests at once; this pool hands one to one."""
    with pytest.raises(ValueError, match=r"HTTP/1\.1"):
        LinearPool(http2=True)
    with pytest.raises(ValueError, match=r"HTTP/1\.1"):
        LinearPool(None, None, 10, None, None, True, True)
    assert LinearPool(http1=True, http2=False)._http2 is False
