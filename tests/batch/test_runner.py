"""BatchRunner against the real sandbox over HTTP: routing, preflight, resume and re-checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from tui.core.batch import BatchPlan, BatchResult, BatchRunner, exit_outcome, parse_batch
from tui.core.domain import CancelOutcome, CancelRequest, Outcome
from tui.core.journal import AttemptState
from tui.core.service import StoplineService
from tui.core.settings import Settings, load_settings
from tui.sandbox import SandboxServer
from tui.sandbox.control import add_fault
from tui.sandbox.showcase import (
    ORDERMESH_MULTI_ITEM,
    PATTERN_NONE,
    RX_CANCELLABLE_ORDER,
    SHOPLAZZA_OPEN_ID,
)

from .conftest import Wired
from .kit import pattern_orders

REASON = "stock-out of frame F-102"


def plan_of(*lines: str, provider: str | None = "pattern") -> BatchPlan:
    return parse_batch("\n".join(lines), provider=provider, reason=REASON)


async def run(
    wired: Wired, plan: BatchPlan, concurrency: int = 8, **kw: object
) -> tuple[BatchRunner, list[BatchResult]]:
    runner = BatchRunner(wired.service, wired.journal, concurrency, **kw)  # type: ignore[arg-type]
    plan = runner.preflight(plan)
    seen: list[BatchResult] = []
    summary = await runner.run(plan.rows, seen.append)
    assert summary.results == seen
    return runner, sorted(seen, key=lambda r: r.line_no)


async def test_csv_rows_go_to_their_own_providers(wired: Wired, sandbox: SandboxServer) -> None:
    complete = pattern_orders(sandbox, "complete")[0]
    plan = parse_batch(
        "provider,order_id,items,reason\n"
        f"pattern,{complete},,Customer request\n"
        f"pattern,{PATTERN_NONE},,Customer request\n"
        f"ordermesh,{ORDERMESH_MULTI_ITEM},670e58fe7741035996cf7e01=2,Customer request\n"
        f"shoplazza,{SHOPLAZZA_OPEN_ID},,Customer request\n"
        f"rxuniverse,{RX_CANCELLABLE_ORDER},,Customer request\n"
    )
    _, results = await run(wired, plan)
    got = [(r.outcome.provider, r.outcome.outcome, r.skipped) for r in results]
    assert got == [
        ("pattern", Outcome.COMPLETE, False),
        ("pattern", Outcome.REFUSED, False),
        ("ordermesh", Outcome.COMPLETE, False),
        ("shoplazza", Outcome.COMPLETE, False),
        ("rxuniverse", Outcome.COMPLETE, False),
    ]
    # Only the two chosen units of the OrderMesh item were cancelled.
    item = sandbox.sandbox.data.ordermesh[ORDERMESH_MULTI_ITEM].items[0]
    assert (item.cancelled_quantity, item.quantity) == (2, 3)
    assert len(wired.http.cancels()) == 5
    attempts = wired.journal.attempts(limit=None)
    assert len(attempts) == 5
    assert all(a.state is AttemptState.FINISHED for a in attempts)
    assert {r.outcome.attempt_id for r in results} == {a.id for a in attempts}
    assert exit_outcome_of(results) is Outcome.REFUSED


def exit_outcome_of(results: list[BatchResult]) -> Outcome | None:
    from tui.core.batch import BatchSummary

    summary = BatchSummary(total=len(results), results=list(results))
    return exit_outcome(summary)


async def test_preflight_turns_unsendable_rows_into_bad_rows_and_sends_nothing_for_them(
    wired: Wired, sandbox: SandboxServer
) -> None:
    complete = pattern_orders(sandbox, "complete")[:2]
    plan = parse_batch(
        "provider,order_id,reason,items\n"
        f"pattern,{complete[0]},why,\n"
        f"pattern,{complete[1]},why,sub-order 1\n"  # Pattern cancels whole orders only
        "rxuniverse,72544,why,\n",
    )
    runner = BatchRunner(wired.service, wired.journal, 4)
    runner.service.settings.rxuniverse.read_only = True
    checked = runner.preflight(plan)
    assert [r.line_no for r in checked.rows] == [2]
    assert {e.line_no: e.message for e in checked.errors}.keys() == {3, 4}
    assert "whole orders only" in checked.errors[0].message
    assert "read-only" in checked.errors[1].message
    # The request is complete before anything is sent: the operator is filled in.
    assert checked.rows[0].request.operator == "test-operator"
    await runner.run(checked.rows)
    assert wired.http.cancels() == ["/pattern/hub/v1/orders/cancel_order"]
    assert [a.order_id for a in wired.journal.attempts()] == [complete[0]]


async def test_a_second_run_skips_what_the_first_settled(
    wired: Wired, sandbox: SandboxServer
) -> None:
    ids = pattern_orders(sandbox, "complete")[:4] + pattern_orders(sandbox, "refused")[:2]
    _, first = await run(wired, plan_of(*ids))
    assert [r.outcome.outcome for r in first] == [Outcome.COMPLETE] * 4 + [Outcome.REFUSED] * 2
    sent_before = len(wired.http.cancels())
    attempts_before = len(wired.journal.attempts(limit=None))

    _, second = await run(wired, plan_of(*ids))
    assert len(wired.http.cancels()) == sent_before == 6  # not one more cancel
    assert len(wired.journal.attempts(limit=None)) == attempts_before  # no new attempt
    assert all(r.skipped for r in second)
    assert [r.outcome.outcome for r in second] == [r.outcome.outcome for r in first]
    assert [r.outcome.attempt_id for r in second] == [r.outcome.attempt_id for r in first]
    assert second[0].note == "skipped (settled earlier: complete)"
    assert second[-1].note == "skipped (settled earlier: refused)"
    assert second[0].to_public()["skipped"] is True


async def test_an_earlier_error_is_sent_again(wired: Wired, sandbox: SandboxServer) -> None:
    order = pattern_orders(sandbox, "complete")[0]
    request = wired.service.prepare(CancelRequest(provider="pattern", order_id=order, reason="x"))
    earlier = wired.journal.begin(request)
    wired.journal.finish(
        earlier,
        CancelOutcome(provider="pattern", order_id=order, outcome=Outcome.ERROR, message="503"),
        12.0,
    )
    _, [result] = await run(wired, plan_of(order))
    assert result.outcome.outcome is Outcome.COMPLETE
    assert not result.skipped
    assert result.note.startswith(f"re-sent: attempt {earlier} failed")
    assert len(wired.http.cancels()) == 1


async def test_settled_for_other_items_is_not_a_reason_to_skip(
    wired: Wired, sandbox: SandboxServer
) -> None:
    e01, e02 = "670e58fe7741035996cf7e01", "670e58fe7741035996cf7e02"
    first = parse_batch(
        f"provider,order_id,reason,items\nordermesh,{ORDERMESH_MULTI_ITEM},why,{e02}\n"
    )
    await run(wired, first)
    again = parse_batch(
        f"provider,order_id,reason,items\nordermesh,{ORDERMESH_MULTI_ITEM},why,{e02}\n"
    )
    _, [same] = await run(wired, again)
    assert same.skipped
    other = parse_batch(
        f"provider,order_id,reason,items\nordermesh,{ORDERMESH_MULTI_ITEM},why,{e01}=1\n"
    )
    _, [result] = await run(wired, other)
    assert not result.skipped
    assert result.outcome.outcome is Outcome.COMPLETE
    assert len(wired.http.cancels()) == 2


# -- unknown earlier attempts: re-check first, never a blind second cancel ----------------------


def unanswered(wired: Wired, order: str, provider: str = "pattern") -> int:
    """An attempt written ahead whose answer never came (its process died)."""
    request = wired.service.prepare(CancelRequest(provider=provider, order_id=order, reason="x"))
    return wired.journal.begin(request)


def later(hours: float = 1.0) -> Callable[[], datetime]:
    return lambda: datetime.now(UTC) + timedelta(hours=hours)


async def test_unknown_attempt_that_took_effect_is_settled_by_a_lookup_not_a_cancel(
    wired: Wired, sandbox: SandboxServer, settings: Settings
) -> None:
    order = pattern_orders(sandbox, "complete")[0]
    earlier = unanswered(wired, order)
    # The dead process's cancel did reach the provider.
    async with StoplineService.from_settings(load_settings()) as other:
        await other.cancel(CancelRequest(provider="pattern", order_id=order, reason="x"))
    wired.http.requests.clear()

    _, [result] = await run(wired, plan_of(order))
    assert wired.http.cancels() == []
    assert ("GET", "/pattern/hub/v1/orders/status") in wired.http.requests
    assert result.skipped
    assert result.outcome.outcome is Outcome.COMPLETE
    assert result.note == f"settled by re-check of unknown attempt {earlier}: complete"
    settled = wired.journal.get(earlier)
    assert settled is not None and settled.outcome is Outcome.COMPLETE
    assert len(wired.journal.attempts(limit=None)) == 1


async def test_unknown_attempt_shown_open_by_the_recheck_is_sent_once(
    wired: Wired, sandbox: SandboxServer
) -> None:
    order = pattern_orders(sandbox, "complete")[0]
    earlier = unanswered(wired, order)
    _, [result] = await run(wired, plan_of(order), clock=later())
    # Looked up first, then exactly one cancel.
    kinds = [path.rsplit("/", 1)[-1] for _, path in wired.http.requests if "token" not in path]
    assert kinds.index("status") < kinds.index("cancel_order")
    assert kinds.count("cancel_order") == 1
    assert not result.skipped
    assert result.outcome.outcome is Outcome.COMPLETE
    assert result.note.startswith(f"re-sent: attempt {earlier} was unknown")
    old = wired.journal.get(earlier)
    assert old is not None and old.outcome is Outcome.UNKNOWN  # never turned into a success
    assert any("still" in w for w in old.warnings)


async def test_recent_unanswered_attempt_may_be_in_flight_elsewhere_and_is_not_resent(
    wired: Wired, sandbox: SandboxServer
) -> None:
    order = pattern_orders(sandbox, "complete")[0]
    earlier = unanswered(wired, order)
    _, [result] = await run(wired, plan_of(order))
    assert wired.http.cancels() == []
    assert result.skipped
    assert result.outcome.outcome is Outcome.UNKNOWN
    assert "may still be in flight" in result.note
    assert result.note.startswith(f"attempt {earlier} still unknown")
    assert exit_outcome_of([result]) is Outcome.UNKNOWN


async def test_failed_recheck_never_leads_to_a_second_cancel(
    wired: Wired, sandbox: SandboxServer
) -> None:
    order = pattern_orders(sandbox, "complete")[0]
    unanswered(wired, order)
    add_fault(sandbox.root_url, provider="pattern", mode="error", status=500, operations=["lookup"])
    _, [result] = await run(wired, plan_of(order), clock=later())
    assert wired.http.cancels() == []
    assert result.outcome.outcome is Outcome.UNKNOWN
    assert "re-check failed" in result.note


async def test_earlier_unknown_with_other_items_is_still_rechecked_first(
    wired: Wired, sandbox: SandboxServer
) -> None:
    request = wired.service.prepare(
        CancelRequest.model_validate(
            {
                "provider": "ordermesh",
                "order_id": ORDERMESH_MULTI_ITEM,
                "reason": "x",
                "items": [{"id": "670e58fe7741035996cf7e02"}],
            }
        )
    )
    wired.journal.begin(request)
    plan = parse_batch(f"provider,order_id,reason\nordermesh,{ORDERMESH_MULTI_ITEM},why\n")
    _, [result] = await run(wired, plan)
    assert wired.http.cancels() == []
    assert result.outcome.outcome is Outcome.UNKNOWN


@pytest.mark.parametrize("concurrency", [0, 65])
def test_concurrency_is_bounded(wired: Wired, concurrency: int) -> None:
    from tui.core.identifiers import InvalidInput

    with pytest.raises(InvalidInput, match="between 1 and 64"):
        BatchRunner(wired.service, wired.journal, concurrency)
