"""Helpers for the batch tests: a counting HTTP transport, order pickers, file writers, the
sandbox's own record of cancel calls, and attempts left behind by dead processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil

from tui.core.domain import CancelRequest, Order
from tui.core.holders import host_name
from tui.core.journal import Holder, SqliteStore
from tui.core.journal.model import utcnow
from tui.sandbox import SandboxServer
from tui.sandbox.control import calls

CANCELLABLE_PATTERN = frozenset({"new", "backordered"})


class CountingTransport(httpx.AsyncBaseTransport):
    """Real HTTP to the sandbox, recording every request and the most ever in flight."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests: list[tuple[str, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.cancels_in_flight = 0
        self.cancel_started = asyncio.Event()
        """Set whenever a cancel request starts (clear it to wait for the next one)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        cancel = is_cancel(request.method, request.url.path)
        self.in_flight += 1
        self.cancels_in_flight += cancel
        if cancel:
            self.cancel_started.set()
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight -= 1
            self.cancels_in_flight -= cancel

    async def aclose(self) -> None:
        await self.inner.aclose()

    def cancels(self) -> list[str]:
        """Paths of the cancel calls sent."""
        return [path for method, path in self.requests if is_cancel(method, path)]


def is_cancel(method: str, path: str) -> bool:
    """Every provider's cancel is a POST to a ``cancel`` path, or a DELETE."""
    return (method == "POST" and "cancel" in path) or method == "DELETE"


def pattern_orders(server: SandboxServer, kind: str) -> list[str]:
    """Pattern market orders whose cancel is ``complete`` (all warehouse orders cancellable),
    ``refused`` (none, and not every one cancelled already) or ``partial`` (some), or that
    are ``cancelled`` already (nothing is sent for them), in a stable order."""
    found = []
    for market_id, order in sorted(server.sandbox.data.pattern.items()):
        statuses = [wo.status for wo in order.warehouse_orders]
        open_ = [s in CANCELLABLE_PATTERN for s in statuses]
        all_cancelled = all(s == "cancelled" for s in statuses)
        if (
            (kind == "complete" and all(open_))
            or (kind == "refused" and not any(open_) and not all_cancelled)
            or (kind == "partial" and any(open_) and not all(open_))
            or (kind == "cancelled" and all_cancelled)
        ):
            found.append(market_id)
    return found


def ordermesh_orders(server: SandboxServer) -> list[str]:
    """OrderMesh orders whose every item can be cancelled."""
    return [
        order_id
        for order_id, order in sorted(server.sandbox.data.ordermesh.items())
        if order.items and all(item.cancellable for item in order.items)
    ]


def write(path: Path, lines: Iterable[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- what the sandbox itself received ----------------------------------------------------------


def cancel_calls(server: SandboxServer, provider: str | None = None) -> list[dict[str, str]]:
    """The cancel requests the sandbox received (from any process), in order."""
    return [
        call
        for call in calls(server.root_url, "cancel")
        if provider is None or call["provider"] == provider
    ]


def cancels_by_order(server: SandboxServer, provider: str, orders: Iterable[str]) -> Counter[str]:
    """How many cancel requests named each order in its path (OrderMesh, Shoplazza)."""
    wanted = set(orders)
    seen: Counter[str] = Counter({order: 0 for order in wanted})
    for call in cancel_calls(server, provider):
        named = [part for part in call["path"].split("/") if part in wanted]
        assert len(named) == 1, call
        seen[named[0]] += 1
    return seen


# -- processes -------------------------------------------------------------------------------


def stopline(*args: str, **popen: Any) -> subprocess.Popen[str]:
    """``stopline ARGS`` in a child process with the current (test) environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "tui", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=dict(os.environ),
        **popen,
    )


def interrupt(process: subprocess.Popen[str], sig: int = signal.SIGINT) -> None:
    process.send_signal(sig)


def dead_holder(operator: str = "ops-gone") -> Holder:
    """The holder of a process on this host that has exited (as after kill -9)."""
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    started = psutil.Process(child.pid).create_time()
    assert child.stdin is not None
    child.stdin.close()
    assert child.wait(timeout=10) == 0
    return Holder(operator=operator, host=host_name(), pid=child.pid, pid_started=started)


def unanswered(
    store: SqliteStore,
    request: CancelRequest,
    before: Order,
    *,
    holder: Holder | None = None,
    window_over: bool,
) -> int:
    """An attempt claimed and written ahead (``before`` recorded), whose answer never came:
    its process died while the request was in flight. ``window_over``: its deadline plus the
    provider's settle time has passed (else it may still take effect for an hour)."""
    holder = holder or dead_holder(request.operator or "ops-gone")
    now = utcnow()
    claim = store.claim(
        request, holder, lease_until=now + timedelta(minutes=1), take_over=lambda _: False
    )
    assert claim.attempt_id is not None, claim
    lease = now - timedelta(seconds=1) if window_over else now + timedelta(hours=1)
    store.mark_sent(claim.attempt_id, before, lease_until=lease)
    return claim.attempt_id
