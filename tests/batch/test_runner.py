"""BatchRunner against the real sandbox over HTTP: routing, preflight, resume, and earlier
attempts that hold or settle an order."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from tui.core.batch import (
    HELD,
    BatchPlan,
    BatchResult,
    BatchRunner,
    BatchSummary,
    exit_status,
    parse_batch,
)
from tui.core.domain import CancelOutcome, CancelRequest, ItemSelection, Order, Outcome
from tui.core.holders import host_name
from tui.core.journal import AttemptState, Holder
from tui.core.journal.model import utcnow
from tui.core.lifecycle import Why
from tui.core.providers.factory import build_provider
from tui.core.settings import Settings
from tui.sandbox import SandboxServer
from tui.sandbox.control import add_fault
from tui.sandbox.showcase import (
    ORDERMESH_MULTI_ITEM,
    PATTERN_NONE,
    RX_CANCELLABLE_ORDER,
    SHOPLAZZA_OPEN_ID,
)

from .conftest import Wired
from .kit import pattern_orders, unanswered

REASON = "stock-out of frame F-102"
E01, E02 = "670e58fe7741035996cf7e01", "670e58fe7741035996cf7e02"


def plan_of(*lines: str, provider: str | None = "pattern") -> BatchPlan:
    return parse_batch("\n".join(lines), provider=provider, reason=REASON)


async def run(
    wired: Wired, plan: BatchPlan, concurrency: int = 8
) -> tuple[BatchRunner, list[BatchResult]]:
    runner = BatchRunner(wired.service, concurrency)
    plan = runner.preflight(plan)
    seen: list[BatchResult] = []
    summary = await runner.run(plan.rows, seen.append)
    assert summary.results == []  # streamed to the caller, not kept
    assert summary.done == len(seen)
    assert summary.counts == Counter(r.status for r in seen)
    assert summary.attention == sorted(
        (r for r in seen if r.status != "complete"), key=lambda r: r.line_no
    )
    return runner, sorted(seen, key=lambda r: r.line_no)


def exit_status_of(results: list[BatchResult]) -> str | None:
    summary = BatchSummary(total=len(results))
    for result in results:
        summary.add(result)
    return exit_status(summary)


async def before_of(wired: Wired, provider: str, order_id: str) -> Order:
    """The order as a look-up shows it now (what a cancel records before it is sent)."""
    found = await wired.service.lookup_one(provider, order_id)
    assert found.orders, found
    return found.orders[0]


def prepared(wired: Wired, order_id: str, provider: str = "pattern", **kw: object) -> CancelRequest:
    return wired.service.prepare(
        CancelRequest.model_validate(
            {"provider": provider, "order_id": order_id, "reason": "x", **kw}
        )
    )


async def test_csv_rows_go_to_their_own_providers(wired: Wired, sandbox: SandboxServer) -> None:
    complete = pattern_orders(sandbox, "complete")[0]
    plan = parse_batch(
        "provider,order_id,items,reason\n"
        f"pattern,{complete},,Customer request\n"
        f"pattern,{PATTERN_NONE},,Customer request\n"
        f"ordermesh,{ORDERMESH_MULTI_ITEM},{E01}=2,Customer request\n"
        f"shoplazza,{SHOPLAZZA_OPEN_ID},,Customer request\n"
        f"rxuniverse,{RX_CANCELLABLE_ORDER},,Customer request\n"
    )
    _, results = await run(wired, plan)
    got = [(r.outcome.provider, r.outcome.outcome, r.skipped) for r in results if r.outcome]
    assert got == [
        ("pattern", Outcome.COMPLETE, False),
        ("pattern", Outcome.REFUSED, False),
        ("ordermesh", Outcome.COMPLETE, False),
        ("shoplazza", Outcome.COMPLETE, False),
        ("rxuniverse", Outcome.COMPLETE, False),
    ]
    assert all(r.not_sent is None for r in results)
    # Only the two chosen units of the OrderMesh item were cancelled.
    item = sandbox.sandbox.data.ordermesh[ORDERMESH_MULTI_ITEM].items[0]
    assert (item.cancelled_quantity, item.quantity) == (2, 3)
    assert len(wired.http.cancels()) == 5
    attempts = wired.store.attempts(limit=None)
    assert len(attempts) == 5
    assert all(a.state is AttemptState.FINISHED and not a.open for a in attempts)
    assert all(a.before is not None for a in attempts)  # each looked up before it was sent
    assert {r.attempt_id for r in results} == {a.id for a in attempts}
    assert {r.outcome.attempt_id for r in results if r.outcome} == {a.id for a in attempts}
    assert exit_status_of(results) == Outcome.REFUSED.value


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
    runner = BatchRunner(wired.service, 4)
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
    assert [a.order_id for a in wired.store.attempts()] == [complete[0]]


async def test_a_second_run_skips_what_the_first_settled(
    wired: Wired, sandbox: SandboxServer
) -> None:
    ids = pattern_orders(sandbox, "complete")[:4] + pattern_orders(sandbox, "refused")[:2]
    _, first = await run(wired, plan_of(*ids))
    assert [r.status for r in first] == ["complete"] * 4 + ["refused"] * 2
    sent_before = len(wired.http.cancels())
    attempts_before = len(wired.store.attempts(limit=None))

    _, second = await run(wired, plan_of(*ids))
    assert len(wired.http.cancels()) == sent_before == 6  # not one more cancel
    assert len(wired.store.attempts(limit=None)) == attempts_before  # no new attempt
    assert all(r.skipped and r.not_sent is Why.SETTLED_EARLIER for r in second)
    assert [r.status for r in second] == [r.status for r in first]
    assert [r.attempt_id for r in second] == [r.attempt_id for r in first]
    assert [r.outcome.attempt_id for r in second if r.outcome] == [r.attempt_id for r in first]
    assert second[0].note == f"settled earlier: attempt #{first[0].attempt_id} was complete"
    assert second[-1].note == f"settled earlier: attempt #{first[-1].attempt_id} was refused"
    public = second[0].to_public()
    assert (public["skipped"], public["sent"], public["not_sent"]) == (
        True,
        False,
        "settled_earlier",
    )
    assert exit_status_of(second) == exit_status_of(first) == Outcome.REFUSED.value


async def test_an_earlier_error_is_sent_again(wired: Wired, sandbox: SandboxServer) -> None:
    order = pattern_orders(sandbox, "complete")[0]
    request = prepared(wired, order)
    before = await before_of(wired, "pattern", order)
    holder = Holder(operator="ops-earlier")
    claim = wired.store.claim(
        request, holder, lease_until=utcnow() + timedelta(minutes=1), take_over=lambda _: False
    )
    earlier = claim.attempt_id
    assert earlier is not None
    wired.store.mark_sent(earlier, before, lease_until=utcnow() + timedelta(minutes=1))
    wired.store.finish(
        earlier,
        CancelOutcome(provider="pattern", order_id=order, outcome=Outcome.ERROR, message="503"),
        12.0,
    )
    wired.http.requests.clear()
    _, [result] = await run(wired, plan_of(order))
    assert result.status == "complete"
    assert not result.skipped
    assert result.note == f"sent again: attempt #{earlier} failed (503)"
    assert len(wired.http.cancels()) == 1


async def test_settled_for_other_items_is_not_a_reason_to_skip(
    wired: Wired, sandbox: SandboxServer
) -> None:
    first = parse_batch(
        f"provider,order_id,reason,items\nordermesh,{ORDERMESH_MULTI_ITEM},why,{E02}\n"
    )
    await run(wired, first)
    _, [same] = await run(wired, first)
    assert same.skipped and same.not_sent is Why.SETTLED_EARLIER
    other = parse_batch(
        f"provider,order_id,reason,items\nordermesh,{ORDERMESH_MULTI_ITEM},why,{E01}=1\n"
    )
    _, [result] = await run(wired, other)
    assert not result.skipped
    assert result.status == "complete"
    assert len(wired.http.cancels()) == 2


async def test_items_that_no_longer_fit_the_order_are_refused_unsent(
    wired: Wired, sandbox: SandboxServer
) -> None:
    """Items are checked against the look-up under the claim: more than is left, or an item
    the order does not have, is an error for that row and nothing is sent."""
    plan = parse_batch(
        "provider,order_id,reason,items\n"
        f"ordermesh,{ORDERMESH_MULTI_ITEM},why,{E01}=4\n"  # only 3 ordered
    )
    _, [result] = await run(wired, plan)
    assert result.not_sent is Why.INVALID and result.skipped
    assert result.status == "error"
    assert "only 3 left" in result.note
    assert wired.http.cancels() == []
    assert wired.store.attempts(limit=None) == []  # the claim was withdrawn


# -- earlier attempts with no known outcome: reconciled first, never a blind second cancel -----


async def test_unknown_attempt_that_took_effect_is_settled_by_a_lookup_not_a_cancel(
    wired: Wired, sandbox: SandboxServer, settings: Settings
) -> None:
    order = pattern_orders(sandbox, "complete")[0]
    request = prepared(wired, order)
    earlier = unanswered(
        wired.store, request, await before_of(wired, "pattern", order), window_over=False
    )
    # The dead process's cancel did reach the provider (straight through an adapter).
    adapter = build_provider("pattern", settings)
    try:
        sent = await adapter.cancel(request)
    finally:
        await adapter.aclose()
    assert sent.outcome is Outcome.COMPLETE
    wired.http.requests.clear()

    _, [result] = await run(wired, plan_of(order))
    assert wired.http.cancels() == []
    assert ("GET", "/pattern/hub/v1/orders/status") in wired.http.requests
    assert result.skipped and result.not_sent is Why.EARLIER_APPLIED
    assert result.status == "complete"
    assert result.outcome is not None and result.outcome.confirmed
    assert result.attempt_id == earlier
    assert result.note.startswith(f"attempt #{earlier} (unknown until now) took effect")
    settled = wired.store.get(earlier)
    assert settled is not None and settled.outcome is Outcome.COMPLETE and not settled.open
    assert len(wired.store.attempts(limit=None)) == 1
    assert exit_status_of([result]) is None


async def test_unknown_attempt_untouched_after_its_window_is_closed_then_sent_once(
    wired: Wired, sandbox: SandboxServer
) -> None:
    order = pattern_orders(sandbox, "complete")[0]
    before = await before_of(wired, "pattern", order)
    earlier = unanswered(wired.store, prepared(wired, order), before, window_over=True)
    wired.http.requests.clear()

    _, [result] = await run(wired, plan_of(order))

    # Looked up first (and the order's state recorded again), then exactly one cancel.
    kinds = [path.rsplit("/", 1)[-1] for _, path in wired.http.requests if "token" not in path]
    assert kinds.index("status") < kinds.index("cancel_order")
    assert kinds.count("cancel_order") == 1
    assert not result.skipped
    assert result.status == "complete"
    assert result.note.startswith(f"attempt #{earlier} was unknown; untouched after its window")
    old = wired.store.get(earlier)
    # Closed as not applied: never turned into a success, and no longer holding the order.
    assert old is not None and old.outcome is Outcome.ERROR and not old.open
    assert old.message.startswith("not applied")
    assert result.attempt_id != earlier


async def test_unknown_attempt_inside_its_window_holds_the_order(
    wired: Wired, sandbox: SandboxServer
) -> None:
    """Untouched so far proves nothing while the earlier cancel may still take effect."""
    order = pattern_orders(sandbox, "complete")[0]
    before = await before_of(wired, "pattern", order)
    earlier = unanswered(wired.store, prepared(wired, order), before, window_over=False)
    _, [result] = await run(wired, plan_of(order))
    assert wired.http.cancels() == []
    assert result.skipped and result.not_sent is Why.EARLIER_UNKNOWN
    assert result.status == HELD and result.outcome is None
    assert result.attempt_id == earlier
    assert "it may still take effect" in result.note
    assert result.note.startswith(f"attempt #{earlier} by test-operator on {host_name()}")
    still = wired.store.get(earlier)
    assert still is not None and still.open and still.outcome is Outcome.UNKNOWN
    assert exit_status_of([result]) == HELD


async def test_attempt_in_flight_on_another_host_holds_the_order_without_a_lookup(
    wired: Wired, sandbox: SandboxServer
) -> None:
    order = pattern_orders(sandbox, "complete")[0]
    before = await before_of(wired, "pattern", order)
    elsewhere = Holder(operator="ops-bea", host="picking-station-7", pid=4242)
    earlier = unanswered(
        wired.store, prepared(wired, order), before, holder=elsewhere, window_over=False
    )
    wired.http.requests.clear()
    _, [result] = await run(wired, plan_of(order))
    assert wired.http.requests == []  # not even a look-up: it may be in flight right now
    assert result.not_sent is Why.HELD and result.status == HELD
    assert "being cancelled by" in result.note and "picking-station-7" in result.note
    assert result.attempt_id == earlier


async def test_failed_reconciliation_never_leads_to_a_second_cancel(
    wired: Wired, sandbox: SandboxServer
) -> None:
    order = pattern_orders(sandbox, "complete")[0]
    before = await before_of(wired, "pattern", order)
    earlier = unanswered(wired.store, prepared(wired, order), before, window_over=True)
    add_fault(sandbox.root_url, provider="pattern", mode="error", status=500, operations=["lookup"])
    _, [result] = await run(wired, plan_of(order))
    assert wired.http.cancels() == []
    assert result.not_sent is Why.EARLIER_UNKNOWN and result.status == HELD
    assert "look-up failed" in result.note
    still = wired.store.get(earlier)
    assert still is not None and still.open and still.outcome is Outcome.UNKNOWN


async def test_earlier_unknown_with_other_items_is_still_reconciled_first(
    wired: Wired, sandbox: SandboxServer
) -> None:
    before = await before_of(wired, "ordermesh", ORDERMESH_MULTI_ITEM)
    request = prepared(
        wired, ORDERMESH_MULTI_ITEM, provider="ordermesh", items=[ItemSelection(id=E02)]
    )
    unanswered(wired.store, request, before, window_over=False)
    plan = parse_batch(f"provider,order_id,reason\nordermesh,{ORDERMESH_MULTI_ITEM},why\n")
    _, [result] = await run(wired, plan)
    assert wired.http.cancels() == []
    assert result.not_sent is Why.EARLIER_UNKNOWN and result.status == HELD


async def test_preview_expects_what_the_run_then_does(wired: Wired, sandbox: SandboxServer) -> None:
    complete = pattern_orders(sandbox, "complete")[:3]
    await run(wired, plan_of(complete[0]))
    before = await before_of(wired, "pattern", complete[1])
    unanswered(wired.store, prepared(wired, complete[1]), before, window_over=False)
    runner = BatchRunner(wired.service, 4)
    rows = runner.preflight(plan_of(*complete)).rows
    preview = await runner.preview(rows)
    assert {k.value: v for k, v in preview.items()} == {"send": 1, "skip": 1, "recheck": 1}
    summary = await runner.run(rows)
    assert summary.by_outcome() == {"complete": 2, HELD: 1}
    assert summary.skipped == 2


@pytest.mark.parametrize("concurrency", [0, 65])
def test_concurrency_is_bounded(wired: Wired, concurrency: int) -> None:
    from tui.core.identifiers import InvalidInput

    with pytest.raises(InvalidInput, match="between 1 and 64"):
        BatchRunner(wired.service, concurrency)
