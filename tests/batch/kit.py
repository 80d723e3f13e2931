"""Helpers for the batch tests: a counting HTTP transport, order pickers, file writers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

from tui.sandbox import SandboxServer
from tui.sandbox.control import add_fault, list_faults

CANCELLABLE_PATTERN = frozenset({"new", "backordered"})


class CountingTransport(httpx.AsyncBaseTransport):
    """Real HTTP to the sandbox, recording every request and the most ever in flight."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests: list[tuple[str, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()

    def cancels(self) -> list[str]:
        """Paths of the cancel calls sent (every provider's cancel is a POST or DELETE that
        is not a token request)."""
        return [
            path
            for method, path in self.requests
            if (method == "POST" and ("cancel" in path)) or method == "DELETE"
        ]


def pattern_orders(server: SandboxServer, kind: str) -> list[str]:
    """Pattern market orders whose cancel is ``complete`` (all warehouse orders cancellable),
    ``refused`` (none) or ``partial`` (some), in a stable order."""
    found = []
    for market_id, order in sorted(server.sandbox.data.pattern.items()):
        statuses = [wo.status for wo in order.warehouse_orders]
        open_ = [s in CANCELLABLE_PATTERN for s in statuses]
        if (
            (kind == "complete" and all(open_))
            or (kind == "refused" and not any(open_))
            or (kind == "partial" and any(open_) and not all(open_))
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


class CancelCounter:
    """Counts the cancel calls the sandbox itself received, across processes: a zero-latency
    fault rule with a large ``count`` is consumed once per matching call."""

    START = 100_000

    def __init__(self, server: SandboxServer, provider: str) -> None:
        self.url = server.root_url
        rule = add_fault(
            self.url,
            provider=provider,
            mode="latency",
            latency_ms=0,
            operations=["cancel"],
            count=self.START,
        )
        self.rule_id = rule["id"]

    @property
    def seen(self) -> int:
        for rule in list_faults(self.url):
            if rule["id"] == self.rule_id:
                return self.START - int(rule["remaining"])
        raise AssertionError("the counting rule disappeared")


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
