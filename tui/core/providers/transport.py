"""Each provider's HTTP transport: httpx's own, with one cost taken out of its pool's idle
check (and the pool's assignment pass made linear: :mod:`tui.core.providers.pool`).

httpcore's pool asks every idle connection, on every request it assigns and every answer it
releases, whether the server has closed it (``get_extra_info("is_readable")``). Its anyio
stream answers by rebuilding anyio's table of socket attributes — a ``getpeername`` system
call and a dozen closures — before the one ``poll`` that matters. A batch keeps up to 32
connections, most of them idle between a row's look-up and its cancel, so that table was
rebuilt hundreds of times an order. Here each stream keeps its socket from the start and
answers with the ``poll`` alone; the rest of the stream is httpcore's, unchanged.
"""

from __future__ import annotations

import select
import ssl
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from tui.core.providers.pool import LinearPool


@dataclass
class Exchange:
    """What one request did on the wire, as this transport saw it: whether a connection was
    being opened for it, and whether any of its bytes were written.

    A deadline that strikes while ``connecting`` and before ``sending`` left nothing with
    the provider. A transport that is not this one (a test's mock) marks nothing, which
    reads as "may have been sent": the safe assumption."""

    connecting: bool = False
    sending: bool = False

    @property
    def nothing_sent(self) -> bool:
        return self.connecting and not self.sending


EXCHANGE: ContextVar[Exchange | None] = ContextVar("stopline_exchange", default=None)
"""The :class:`Exchange` of the request the current task is sending (httpcore connects and
writes in the task that sends), set by :class:`~tui.core.providers.http.ProviderHttp` for
each try. A context variable rather than httpcore's ``trace`` extension: that one is an
awaited call at every step of every exchange; this is two attribute writes."""


def readable(sock: Any) -> bool:
    """Whether a read would return at once (data, or the b"" of a closed connection)."""
    fd = sock.fileno() if sock is not None else -1
    if fd < 0:
        return True  # gone: as good as closed
    if not hasattr(select, "poll"):  # pragma: no cover - Windows
        return bool(select.select([fd], [], [], 0)[0])
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class _Stream(httpcore.AsyncNetworkStream):
    """An anyio stream whose idle check is one ``poll`` on the socket it was opened on."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: Any = inner.get_extra_info("socket")  # socket-like: has fileno()

    # The signatures are httpcore's interface, ``timeout`` parameters included.
    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        seen = EXCHANGE.get()
        if seen is not None:
            seen.sending = True
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            return readable(self._socket)
        return self._inner.get_extra_info(info)


class _Backend(httpcore.AsyncNetworkBackend):
    """httpcore's anyio backend, its streams wrapped in :class:`_Stream`."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        seen = EXCHANGE.get()
        if seen is not None:
            seen.connecting = True
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _Stream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:  # pragma: no cover - providers are reached over TCP
        return _Stream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class ProviderTransport(httpx.AsyncHTTPTransport):
    """httpx's transport (HTTP/1.1, verifying with ``verify``), its pool a
    :class:`~tui.core.providers.pool.LinearPool` on :class:`_Backend`."""

    def __init__(self, *, verify: ssl.SSLContext, limits: httpx.Limits) -> None:
        super().__init__(verify=verify, limits=limits)
        # The pool httpx builds, with the same settings, our backend and a linear
        # assignment pass (httpx has no argument for it; tests/core/test_transport.py
        # fails if this stops applying).
        self._pool = LinearPool(
            ssl_context=verify,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=_Backend(),
        )
