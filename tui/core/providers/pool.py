"""httpcore's connection pool with its assignment pass made linear, and no connection handed
to two requests at once.

httpcore (1.0.x) runs ``_assign_requests_to_connections`` on every request it queues and
every answer it releases. Two costs in it, both measured by bench/batch_throughput.py:

* For each idle connection the pass counts the pool with a list built over every
  connection (``len([c.is_idle() for c in self._connections])`` — the list's length, not
  the idle count: upstream's open encode/httpcore#1035 describes both), and for each queued
  request it filters every connection twice: about a thousand ``is_idle`` calls a pass in a
  batch's pool of 32 connections (~6 % of a batch's CPU).
* An idle HTTP/1.1 connection stays idle until the request handed it starts, so the next
  request's pass hands it out again; all but one of them wake, fail with
  ``ConnectionNotAvailable``, queue again and run another pass — in a 32-row batch more than
  once a request (another ~15 % of its CPU). A connection so handed can also be closed by the
  next pass as surplus or to make room (upstream's encode/httpcore#1110).

:class:`LinearPool`, for HTTP/1.1 pools (the providers' own), decides as httpcore does —
the same connections dropped, closed, reused or created, in the same order, the pool's size
compared as httpcore compares it — except that a connection already handed to a request
still in the pool is neither handed to another nor closed as surplus or to make room (an
expired one is still closed: its request then queues again, as with httpcore). Each pass
is O(connections + requests).
tests/core/test_pool.py checks it against httpcore's own pass, the reference, on random
pools, and over real HTTP that no request is handed a taken connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpcore

if TYPE_CHECKING:
    from httpcore._async.interfaces import AsyncConnectionInterface


class LinearPool(httpcore.AsyncConnectionPool):
    """:class:`httpcore.AsyncConnectionPool`, its assignment pass without the re-scans and
    without handing one connection to two requests — HTTP/1.1 only (an HTTP/2 connection is
    meant to be handed to many at once)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("http2", len(args) > 6 and args[6]):  # httpcore's 7th parameter
            raise ValueError("LinearPool hands a connection to one request at a time: HTTP/1.1")
        super().__init__(*args, **kwargs)

    def _assign_requests_to_connections(self) -> list[AsyncConnectionInterface]:
        closing: list[AsyncConnectionInterface] = []
        connections = self._connections
        # Connections handed to a request still in the pool: an idle one (its request has
        # not started on it yet) is not handed to another, nor closed as surplus or to make
        # room.
        held = {r.connection for r in self._requests if r.connection is not None}

        # Closed connections are dropped, expired ones closed; an idle one is closed while
        # the pool holds more than the keep-alive limit (httpcore compares the pool's
        # size, which its list of every connection's idleness has as its length).
        for connection in list(connections):
            if connection.is_closed():
                connections.remove(connection)
            elif connection.has_expired() or (
                connection.is_idle()
                and len(connections) > self._max_keepalive_connections
                and connection not in held
            ):
                connections.remove(connection)
                closing.append(connection)

        # Each queued request: the first available connection to its origin, else a new
        # connection while there is room, else the first idle one closed to make room.
        for pool_request in [request for request in self._requests if request.is_queued()]:
            origin = pool_request.request.url.origin
            connection = next(
                (
                    connection
                    for connection in connections
                    if connection not in held
                    and connection.can_handle_request(origin)
                    and connection.is_available()
                ),
                None,
            )
            if connection is None:
                if len(connections) >= self._max_connections:
                    idle = next((c for c in connections if c not in held and c.is_idle()), None)
                    if idle is None:
                        continue  # it waits for a connection to come free
                    connections.remove(idle)
                    closing.append(idle)
                connection = self.create_connection(origin)
                connections.append(connection)
            pool_request.assign_to_connection(connection)
            held.add(connection)
        return closing
