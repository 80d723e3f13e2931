"""Each provider's transport is httpx's, its pool on a backend whose idle check is one
``poll`` on the connection's socket (bench/batch_throughput.py shows why): these tests fail
if httpx stops letting the pool be set, and prove the check still tells a live connection
from one the server closed."""

from __future__ import annotations

import socket

import httpx

from tui.core.providers.factory import build_provider
from tui.core.providers.transport import (
    EXCHANGE,
    Exchange,
    ProviderTransport,
    _Stream,
    readable,
)
from tui.core.settings import load_settings
from tui.sandbox import SandboxServer


def test_readable_tells_an_idle_socket_from_one_with_data_or_closed() -> None:
    ours, theirs = socket.socketpair()
    try:
        assert not readable(ours)
        theirs.sendall(b"x")
        assert readable(ours)
        ours.recv(1)
        assert not readable(ours)
        theirs.close()
        assert readable(ours)  # the b"" of a closed connection is waiting
    finally:
        ours.close()
    assert readable(ours)  # gone altogether: treated as closed


async def test_a_providers_pool_runs_on_the_lean_backend_and_reuses_live_connections() -> None:
    with SandboxServer() as server:
        settings = load_settings(
            **{"shoplazza": {"base_url": f"{server.root_url}/shoplazza", "access_token": "t"}}
        )
        provider = build_provider("shoplazza", settings)
        try:
            client = provider.http.client
            transport = client._transport
            assert isinstance(transport, ProviderTransport)
            pool = transport._pool
            for _ in range(3):
                answer = await client.get(f"{server.root_url}/_sandbox/health")
                assert answer.status_code == 200
            (connection,) = pool.connections  # one connection, kept alive and reused
            stream = connection._connection._network_stream  # type: ignore[attr-defined]
            assert isinstance(stream, _Stream)
            assert stream.get_extra_info("is_readable") is False  # idle, alive
            assert stream.get_extra_info("socket").fileno() >= 0  # kept from the start
        finally:
            await provider.aclose()


def test_the_pool_keeps_httpx_limits() -> None:
    limits = httpx.Limits(max_connections=7, max_keepalive_connections=3, keepalive_expiry=9)
    transport = ProviderTransport(verify=httpx.create_ssl_context(), limits=limits)
    pool = transport._pool
    assert (pool._max_connections, pool._max_keepalive_connections) == (7, 3)
    assert pool._keepalive_expiry == 9


async def test_the_transport_tells_a_try_it_connected_and_sent() -> None:
    with SandboxServer() as server:
        transport = ProviderTransport(verify=httpx.create_ssl_context(), limits=httpx.Limits())
        async with httpx.AsyncClient(transport=transport) as client:
            first, again = Exchange(), Exchange()
            watching = EXCHANGE.set(first)
            try:
                assert (await client.get(f"{server.root_url}/_sandbox/health")).status_code == 200
            finally:
                EXCHANGE.reset(watching)
            watching = EXCHANGE.set(again)
            try:
                assert (await client.get(f"{server.root_url}/_sandbox/health")).status_code == 200
            finally:
                EXCHANGE.reset(watching)
        assert first.connecting and first.sending and not first.nothing_sent
        # The kept-alive connection: nothing opened, bytes written.
        assert not again.connecting and again.sending and not again.nothing_sent


async def test_a_try_that_only_connected_sent_nothing_and_a_mock_counts_as_sent() -> None:
    connecting = Exchange(connecting=True)
    assert connecting.nothing_sent
    unseen = Exchange()  # a transport that reports nothing (a test's mock)
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(lambda request: httpx.Response(200))
    ) as client:
        watching = EXCHANGE.set(unseen)
        try:
            await client.get("http://provider.test/")
        finally:
            EXCHANGE.reset(watching)
    assert not unseen.nothing_sent
