"""Helpers shared by the journal tests: a settable clock, model factories, holders, the
claim-then-write-ahead step every sent attempt goes through, and child-process runs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from typing import Any

from tui.core.domain import (
    CancelledLine,
    CancelOutcome,
    CancelRequest,
    ItemSelection,
    Line,
    NotCancelledLine,
    Order,
    Outcome,
)
from tui.core.journal import Attempt, Holder, SqliteStore

LEASE = datetime(2099, 1, 1, tzinfo=UTC)
"""A lease far in the future: the journal stores it; only the lifecycle reads it."""


class FakeClock:
    """A settable UTC clock, so ``since`` filters and timestamps are exact."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def never(attempt: Attempt) -> bool:
    """A ``take_over`` that never takes an open claim over."""
    return False


def refuse_to_be_asked(attempt: Attempt) -> bool:
    raise AssertionError(f"take_over was asked about attempt #{attempt.id} ({attempt.state})")


def make_holder(
    operator: str = "ops-anna",
    *,
    host: str = "test-host",
    pid: int | None = 4242,
    pid_started: float | None = 1_700_000_000.0,
) -> Holder:
    return Holder(operator=operator, host=host, pid=pid, pid_started=pid_started)


def make_request(
    provider: str = "shoplazza",
    order_id: str = "1001-1",
    *,
    reason: str = "duplicate import",
    reason_code: str | None = None,
    items: tuple[tuple[str, int | None], ...] = (),
    operator: str = "",
) -> CancelRequest:
    return CancelRequest(
        provider=provider,
        order_id=order_id,
        reason=reason,
        reason_code=reason_code,
        items=tuple(ItemSelection(id=i, quantity=q) for i, q in items),
        operator=operator,
    )


def make_order(request: CancelRequest, *, status: str = "opened") -> Order:
    """The order as a look-up showed it just before sending (the write-ahead's snapshot)."""
    lines = tuple(
        Line(id=item.id, quantity=item.quantity or 1, status="open", cancellable=True)
        for item in request.items
    ) or (Line(id="L1", quantity=2, status="open", cancellable=True),)
    return Order(provider=request.provider, order_id=request.order_id, status=status, lines=lines)


def make_outcome(
    request: CancelRequest,
    outcome: Outcome = Outcome.COMPLETE,
    **fields: Any,
) -> CancelOutcome:
    defaults: dict[str, Any] = {"http_status": 200, "message": "ok"}
    if outcome is Outcome.COMPLETE:
        defaults["cancelled"] = [CancelledLine(id=request.order_id)]
        defaults["confirmed"] = True
    if outcome is Outcome.PARTIAL:
        defaults["cancelled"] = [CancelledLine(id="L1", quantity=1)]
        defaults["not_cancelled"] = [NotCancelledLine(id="L2", status="shipped", reason="gone")]
    defaults.update(fields)
    return CancelOutcome(
        provider=request.provider, order_id=request.order_id, outcome=outcome, **defaults
    )


def claim(
    store: SqliteStore,
    request: CancelRequest,
    holder: Holder | None = None,
    *,
    lease_until: datetime = LEASE,
) -> int:
    """Take the claim on ``request``'s order (never taking another over); its attempt id.
    Fails the test if another attempt holds the order."""
    got = store.claim(request, holder or make_holder(), lease_until=lease_until, take_over=never)
    if got.attempt_id is None:
        assert got.holder is not None
        raise AssertionError(f"{request.order_id} is held by attempt #{got.holder.id}")
    return got.attempt_id


def claim_and_send(
    store: SqliteStore,
    request: CancelRequest,
    holder: Holder | None = None,
    *,
    before: Order | None = None,
    lease_until: datetime = LEASE,
) -> int:
    """What every sent attempt goes through before its request leaves (the old ``begin``):
    the claim, then the durable write-ahead with the order's state before sending."""
    attempt_id = claim(store, request, holder, lease_until=lease_until)
    store.mark_sent(attempt_id, before or make_order(request), lease_until=lease_until)
    return attempt_id


def child_command(code: str, *args: str) -> list[str]:
    """A fresh interpreter of the project's venv running ``code``."""
    return [sys.executable, "-c", textwrap.dedent(code), *args]


def run_child(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        child_command(code, *args), capture_output=True, text=True, timeout=timeout, check=False
    )
