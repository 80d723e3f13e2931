"""Concurrency bounds and stopping mid-batch, against a sandbox that answers slowly."""

from __future__ import annotations

import asyncio
import time

import pytest

from tui.core.batch import BatchResult, BatchRunner, BatchSummary, parse_batch
from tui.core.domain import Outcome
from tui.core.journal import AttemptState
from tui.sandbox import SandboxConfig, SandboxServer

from .conftest import Wired
from .kit import pattern_orders

LATENCY_MS = 150


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(
        pattern_cancel_delay_s=0.0, latency_ms={"pattern": LATENCY_MS, "shoplazza": 0}
    )


def rows_for(ids: list[str], provider: str = "pattern") -> list:
    plan = parse_batch("\n".join(ids), provider=provider, reason="stock-out")
    assert not plan.errors
    return plan.rows


async def test_requests_overlap_up_to_the_concurrency_and_no_further(
    wired: Wired, sandbox: SandboxServer
) -> None:
    ids = pattern_orders(sandbox, "complete")[:12]
    runner = BatchRunner(wired.service, wired.journal, 4)
    await wired.service.lookup_one("pattern", ids[0])  # token fetched outside the timing
    wired.http.max_in_flight = 0
    started = time.perf_counter()
    summary = await runner.run(rows_for(ids))
    elapsed = time.perf_counter() - started
    assert summary.by_outcome() == {"complete": 12}
    assert wired.http.max_in_flight == 4
    # 12 calls of 150 ms, 4 at a time: 3 waves, not 12 in a row.
    assert elapsed < 12 * LATENCY_MS / 1000 / 2


async def test_shoplazza_waits_for_its_rate_without_holding_up_other_providers(
    wired: Wired, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = sorted(sandbox.sandbox.data.shoplazza)[:5]
    pattern = pattern_orders(sandbox, "complete")[:6]
    text = "provider,order_id\n" + "".join(f"shoplazza,{i}\n" for i in shop)
    text += "".join(f"pattern,{i}\n" for i in pattern)
    runner = BatchRunner(wired.service, wired.journal, 4)
    assert runner.provider_limits["shoplazza"] == 2
    active = {"shoplazza": 0, "pattern": 0}
    most = dict(active)
    real_cancel = wired.service.cancel

    async def counted(request):  # type: ignore[no-untyped-def]
        active[request.provider] += 1
        most[request.provider] = max(most[request.provider], active[request.provider])
        try:
            return await real_cancel(request)
        finally:
            active[request.provider] -= 1

    monkeypatch.setattr(wired.service, "cancel", counted)
    finished_at: dict[str, list[float]] = {"shoplazza": [], "pattern": []}
    started = time.perf_counter()
    summary = await runner.run(
        runner.preflight(parse_batch(text, reason="stock-out")).rows,
        lambda r: finished_at[r.outcome.provider].append(time.perf_counter() - started),
    )
    assert summary.done == 11
    # At most 2 Shoplazza attempts written ahead and waiting on its 2/s limiter at once...
    assert most["shoplazza"] == 2
    # ...so the other 2 slots kept Pattern moving: it was done long before Shoplazza.
    assert max(finished_at["pattern"]) < max(finished_at["shoplazza"]) - 0.4
    assert all(r.outcome.http_status != 429 for r in summary.results)


async def test_stopping_mid_batch_starts_nothing_new_and_leaves_in_flight_as_sent(
    wired: Wired, sandbox: SandboxServer
) -> None:
    ids = pattern_orders(sandbox, "complete")[:10]
    runner = BatchRunner(wired.service, wired.journal, 2)
    summary = BatchSummary()
    first = asyncio.Event()

    def on_result(result: BatchResult) -> None:
        first.set()

    task = asyncio.create_task(runner.run(rows_for(ids), on_result, summary))
    await first.wait()
    await asyncio.sleep(LATENCY_MS / 1000 / 3)  # the next pair is in flight now
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert summary.interrupted
    attempts = wired.journal.attempts(limit=None)
    finished = [a for a in attempts if a.state is AttemptState.FINISHED]
    in_flight = [a for a in attempts if a.state is AttemptState.SENT]
    assert len(finished) == summary.done < 10
    assert 1 <= len(in_flight) <= 2
    assert all(a.outcome is Outcome.UNKNOWN for a in in_flight)
    # Nothing starts after the stop.
    await asyncio.sleep(2 * LATENCY_MS / 1000)
    assert len(wired.journal.attempts(limit=None)) == len(attempts)
    assert summary.not_run == 10 - summary.done
