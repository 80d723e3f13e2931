"""An answer the journal refused stays this process's to write: meanwhile its attempt holds
the order here as one in flight does, and the next cancel of the order here writes it first.
Without that, the next cancel would find the row ``sent`` under its own (live) pid, past its
lease, reconcile it from a look-up that does not show Pattern's slow confirmation yet, close
an initiated cancel as "not applied" — and send it again.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tui.core.domain import CancelRequest, Outcome
from tui.core.journal import SqliteJournal
from tui.core.journal.model import JournalError
from tui.core.lifecycle import Done, NotSent, Why
from tui.core.service import StoplineService

from .fakes import make_settings

WHOLE = CancelRequest(provider="pattern", order_id="MO-1", reason="dup")
PENDING = {
    "market_order_id": "MO-1",
    "order_status": "pending",
    "sub_orders": [
        {"sub_order_status": "pending", "items": [{"sku": "SKU-A", "quantity": 1}]},
        {"sub_order_status": "backordered", "items": [{"sku": "SKU-B", "quantity": 1}]},
    ],
}
INITIATED = {
    "market_order_id": "MO-1",
    "success": True,
    "message": "Cancellation initiated for all 2 warehouse orders",
    "cancelled_orders": [
        {"warehouse_order_id": 1, "status": "cancelled"},
        {"warehouse_order_id": 2, "status": "cancelled"},
    ],
    "non_cancellable_orders": [],
}


class RefusingJournal:
    """A real SQLite journal whose ``finish`` fails (a lock held too long) while ``refuse``."""

    def __init__(self, inner: SqliteJournal) -> None:
        self.inner = inner
        self.refuse = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @property
    def where(self) -> str:
        return self.inner.where

    async def finish(self, *args: Any, **kwargs: Any) -> bool:
        if self.refuse:
            raise JournalError("database is locked (as another process would hold it)")
        return await self.inner.finish(*args, **kwargs)


def pattern_api(cancels: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        if request.url.path.endswith("/v1/orders/status"):
            return httpx.Response(200, json=PENDING)  # Pattern confirms slowly
        if request.url.path.endswith("/v1/orders/cancel_order"):
            cancels.append(request)
            return httpx.Response(200, json=INITIATED)
        return httpx.Response(404)

    return httpx.MockTransport(handle)


async def test_a_kept_answer_holds_the_order_and_is_written_by_the_next_cancel(tmp_path):
    cancels: list[httpx.Request] = []
    settings = make_settings(pattern={"timeout_s": 0.1, "settle_s": 0.0})  # a short lease
    journal = RefusingJournal(SqliteJournal.open(tmp_path / "j.sqlite3"))
    service = StoplineService.from_settings(
        settings, journal=journal, transports={"pattern": pattern_api(cancels)}
    )
    async with service:
        journal.refuse = True
        first = await service.cancel(WHOLE)
        assert isinstance(first, Done) and first.outcome.outcome is Outcome.COMPLETE
        assert service.lifecycle.recorder.unrecorded == [1]
        await asyncio.sleep(0.5)  # past the attempt's lease; the background retry waits 1 s
        held = await service.cancel(WHOLE)  # the journal still refuses the answer
        assert isinstance(held, NotSent) and held.why is Why.HELD, held
        journal.refuse = False
        again = await service.cancel(WHOLE)  # writes the kept answer, then decides on it
        row = await journal.inner.get(1)
    assert len(cancels) == 1
    assert isinstance(again, NotSent) and again.why is Why.AWAITING_CONFIRMATION, again
    assert row is not None and row.outcome is Outcome.COMPLETE and not row.open
    assert service.lifecycle.recorder.unrecorded == []
