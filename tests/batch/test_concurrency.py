"""Concurrency bounds and stopping mid-batch, against a sandbox that answers slowly."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tui.core.batch import BatchResult, BatchRow, BatchRunner, BatchSummary, parse_batch
from tui.core.domain import Outcome
from tui.core.journal import AttemptState, SqliteJournal, SqliteStore
from tui.core.journal.model import utcnow
from tui.core.service import StoplineService
from tui.core.settings import Settings
from tui.sandbox import SandboxConfig, SandboxServer

from .conftest import Wired
from .kit import cancel_calls, pattern_orders

LATENCY_MS = 150


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(
        pattern_cancel_delay_s=0.0, latency_ms={"pattern": LATENCY_MS, "shoplazza": 0}
    )


def rows_for(ids: list[str], provider: str = "pattern") -> list[BatchRow]:
    plan = parse_batch("\n".join(ids), provider=provider, reason="stock-out")
    assert not plan.errors
    return plan.rows


async def test_requests_overlap_up_to_the_concurrency_and_no_further(
    wired: Wired, sandbox: SandboxServer
) -> None:
    ids = pattern_orders(sandbox, "complete")[:12]
    runner = BatchRunner(wired.service, 4)
    await wired.service.lookup_one("pattern", ids[0])  # token fetched beforehand
    wired.http.max_in_flight = 0
    summary = await runner.run(rows_for(ids))
    assert summary.by_outcome() == {"complete": 12}
    # Every row is a look-up then a cancel, one after the other: 4 rows at a time means
    # exactly 4 requests in flight at the most.
    assert wired.http.max_in_flight == 4
    assert len(wired.http.cancels()) == 12


async def test_shoplazza_waits_for_its_rate_without_holding_up_other_providers(
    wired: Wired, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = sorted(
        key for key, order in sandbox.sandbox.data.shoplazza.items() if order.status != "cancelled"
    )[:4]
    pattern = pattern_orders(sandbox, "complete")[:6]
    text = "provider,order_id\n" + "".join(f"shoplazza,{i}\n" for i in shop)
    text += "".join(f"pattern,{i}\n" for i in pattern)
    runner = BatchRunner(wired.service, 4)
    assert runner.provider_limits["shoplazza"] == 2
    active = {"shoplazza": 0, "pattern": 0}
    most = dict(active)
    real_cancel = wired.service.cancel

    async def counted(request: Any, **kw: Any) -> Any:
        active[request.provider] += 1
        most[request.provider] = max(most[request.provider], active[request.provider])
        try:
            return await real_cancel(request, **kw)
        finally:
            active[request.provider] -= 1

    monkeypatch.setattr(wired.service, "cancel", counted)
    order_seen: list[str] = []
    summary = await runner.run(
        runner.preflight(parse_batch(text, reason="stock-out")).rows,
        lambda r: order_seen.append(r.row.request.provider),
        BatchSummary(keep_all=True),
    )
    assert summary.done == 10
    # At most 2 Shoplazza cancels claimed and waiting on its 2/s limiter at once...
    assert most["shoplazza"] == 2
    # ...so the other 2 slots kept Pattern moving: every Pattern row finished before the
    # last Shoplazza ones (4 Shoplazza rows are 8 requests, 4 s at 2/s; Pattern's 6 rows
    # take about 1 s on their 2 slots).
    assert order_seen[-2:] == ["shoplazza", "shoplazza"]
    assert most["pattern"] >= 2
    assert all(r.outcome and r.outcome.http_status != 429 for r in summary.results)


async def test_stopping_mid_batch_starts_nothing_new_and_leaves_in_flight_unknown(
    wired: Wired, sandbox: SandboxServer
) -> None:
    ids = pattern_orders(sandbox, "complete")[:10]
    runner = BatchRunner(wired.service, 2)
    summary = BatchSummary()
    first = asyncio.Event()

    def on_result(result: BatchResult) -> None:
        first.set()

    task = asyncio.create_task(runner.run(rows_for(ids), on_result, summary))
    await first.wait()
    wired.http.cancel_started.clear()
    await wired.http.cancel_started.wait()  # a cancel of a later row is on the wire now
    assert wired.http.cancels_in_flight
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert summary.interrupted
    attempts = wired.store.attempts(limit=None)
    # A row stopped while its write-ahead was committing sent nothing: if the write landed,
    # it is closed as not applied (this process knows nothing left), never left "sent".
    unsent = [a for a in attempts if a.message == UNSENT]
    assert all(a.outcome is Outcome.ERROR and not a.open for a in unsent)
    answered = [a for a in attempts if a.settled and a.message != UNSENT]
    in_flight = [a for a in attempts if a.state is AttemptState.SENT or not a.settled]
    assert len(answered) == summary.done < 10
    assert 1 <= len(in_flight) <= 2
    # Abandoned on the wire: finished unknown — no longer this process's to send, so any
    # process reconciles it once its settle time is over — and holding the order until then.
    assert all(a.state is AttemptState.FINISHED for a in in_flight)
    assert all(a.outcome is Outcome.UNKNOWN and a.open for a in in_flight)
    assert all(a.message == "stopped while the request was in flight" for a in in_flight)
    settle = timedelta(seconds=wired.service.settings.providers()["pattern"].settle_s)
    assert all(
        a.lease_until is not None and a.lease_until <= utcnow() + settle for a in in_flight
    )
    # A row stopped during its look-up sent nothing and released its claim.
    assert [a for a in attempts if a.state is AttemptState.CLAIMED] == []
    assert all(wired.store.open_attempt("pattern", a.order_id) for a in in_flight)
    # Nothing starts after the stop.
    cancels = len(wired.http.cancels())
    await asyncio.sleep(3 * LATENCY_MS / 1000)
    assert len(wired.store.attempts(limit=None)) == len(attempts)
    assert len(wired.http.cancels()) == cancels
    assert summary.not_run == 10 - summary.done


UNSENT = "stopped before the request left: nothing was sent"


class GatedJournal(SqliteJournal):
    """The real journal, whose write-ahead waits for the test to open a gate."""

    def __init__(self, store: SqliteStore) -> None:
        super().__init__(store)
        self.reached = asyncio.Event()
        self.gate = asyncio.Event()

    async def mark_sent(self, *args: Any, **kw: Any) -> None:
        self.reached.set()
        await self.gate.wait()
        await super().mark_sent(*args, **kw)


async def test_stopped_before_the_write_ahead_releases_its_claim(
    settings: Settings, sandbox: SandboxServer
) -> None:
    """A row stopped after its look-up but before its write-ahead sent nothing: its claim
    must not stay open (another process would see the order held while this one runs)."""
    order = pattern_orders(sandbox, "complete")[0]
    path = settings.journal_path()
    journal = GatedJournal(SqliteStore(path))
    async with StoplineService.from_settings(settings, journal=journal) as service:
        task = asyncio.create_task(BatchRunner(service, 1).run(rows_for([order])))
        await journal.reached.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with SqliteStore(path) as store:
            assert store.open_attempt("pattern", order) is None
            assert store.attempts(limit=None) == []  # withdrawn: nothing was sent
        assert cancel_calls(sandbox) == []

        journal.gate.set()
        summary = await BatchRunner(service, 1).run(rows_for([order]))
        assert summary.by_outcome() == {"complete": 1}
        assert len(cancel_calls(sandbox)) == 1


class SlowClaimStore(SqliteStore):
    """The real store, whose claim — on the journal's own thread — waits for the test before
    it commits: a cancel stopped while the claim is being written must still release it."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.reached = threading.Event()
        self.gate = threading.Event()

    def _claim(self, *args: Any, **kw: Any) -> Any:
        self.reached.set()
        self.gate.wait(10)
        return super()._claim(*args, **kw)


async def test_stopped_while_claiming_releases_the_claim(
    settings: Settings, sandbox: SandboxServer
) -> None:
    order = pattern_orders(sandbox, "complete")[0]
    path = settings.journal_path()
    store = SlowClaimStore(path)
    async with StoplineService.from_settings(settings, journal=SqliteJournal(store)) as service:
        task = asyncio.create_task(BatchRunner(service, 1).run(rows_for([order])))
        await asyncio.to_thread(store.reached.wait, 10)
        task.cancel()
        await asyncio.sleep(0.05)
        store.gate.set()  # the claim commits after the cancel was asked for
        with pytest.raises(asyncio.CancelledError):
            await task
        with SqliteStore(path) as check:
            assert check.open_attempt("pattern", order) is None
            assert check.attempts(limit=None) == []
        assert cancel_calls(sandbox) == []
