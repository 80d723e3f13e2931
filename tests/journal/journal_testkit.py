"""Helpers shared by the journal tests (a settable clock, model factories, child runs)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import datetime, timedelta
from typing import Any

from tui.core.domain import (
    CancelledLine,
    CancelOutcome,
    CancelRequest,
    ItemSelection,
    NotCancelledLine,
    Outcome,
)


class FakeClock:
    """A settable UTC clock, so ``since`` filters and timestamps are exact."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


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


def child_command(code: str, *args: str) -> list[str]:
    """A fresh interpreter of the project's venv running ``code``."""
    return [sys.executable, "-c", textwrap.dedent(code), *args]


def run_child(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        child_command(code, *args), capture_output=True, text=True, timeout=timeout, check=False
    )
