"""httpcore's connection pool with its assignment pass made linear in the connections.

httpcore (1.0.x) runs ``_assign_requests_to_connections`` on every request it queues and
every answer it releases. For each idle connection the pass counts the pool with a list
built over every connection (``len([c.is_idle() for c in self._connections])`` — the list's
length, not the idle count: upstream's open encode/httpcore#1035 describes both), and for
each queued request it filters every connection twice. A batch keeps up to 32 connections
per provider, so that was about a thousand ``is_idle`` calls a pass and several passes an
order: bench/batch_throughput.py measured it at ~6 % of a batch's CPU.

:class:`LinearPool` keeps httpcore's decisions exactly — the same connections dropped,
closed, reused, created, in the same order, the count compared as httpcore compares it —
and makes each pass O(connections + queued requests). tests/core/test_pool.py runs both
passes, httpcore's own as the reference, over many random pools and fails when they part
(for instance when a new httpcore changes its pass: then this one is revisited or
dropped).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpcore

if TYPE_CHECKING:
    from httpcore._async.interfaces import AsyncConnectionInterface


class LinearPool(httpcore.AsyncConnectionPool):
    """:class:`httpcore.AsyncConnectionPool`, its assignment pass without the re-scans."""

    def _assign_requests_to_connections(self) -> list[AsyncConnectionInterface]:
        closing: list[AsyncConnectionInterface] = []
        connections = self._connections

        # Closed connections are dropped, expired ones closed; an idle one is closed while
        # the pool holds more than the keep-alive limit (httpcore compares the pool's
        # size, which its list of every connection's idleness has as its length).
        for connection in list(connections):
            if connection.is_closed():
                connections.remove(connection)
            elif connection.has_expired() or (
                connection.is_idle() and len(connections) > self._max_keepalive_connections
            ):
                connections.remove(connection)
                closing.append(connection)

        # Each queued request: the first available connection to its origin, else a new
        # connection while there is room, else the first idle one closed to make room.
        for pool_request in [request for request in self._requests if request.is_queued()]:
            origin = pool_request.request.url.origin
            reuse = next(
                (
                    connection
                    for connection in connections
                    if connection.can_handle_request(origin) and connection.is_available()
                ),
                None,
            )
            if reuse is not None:
                pool_request.assign_to_connection(reuse)
                continue
            if len(connections) >= self._max_connections:
                idle = next((c for c in connections if c.is_idle()), None)
                if idle is None:
                    continue  # it waits for a connection to come free
                connections.remove(idle)
                closing.append(idle)
            connection = self.create_connection(origin)
            connections.append(connection)
            pool_request.assign_to_connection(connection)
        return closing
