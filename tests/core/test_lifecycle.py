"""The cancel lifecycle's reconciliation: what a look-up, compared with the order as it was just
before the request left, proves about a cancel whose answer was lost or is not yet confirmed.

These moved here from the providers: an adapter no longer reconciles; the lifecycle compares
snapshots (:func:`compare`), settles by the evidence (:func:`settle_outcome`) and checks the
items asked for against the order before anything is sent (:func:`resolve_items`).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest

from tui.core import lifecycle as lifecycle_module
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
from tui.core.evidence import Change, Evidence, compare
from tui.core.holders import host_name, process_started
from tui.core.identifiers import InvalidInput
from tui.core.journal import Holder, SqliteJournal
from tui.core.lifecycle import (
    SEND_BUDGET_TIMEOUTS,
    Answered,
    CancelLifecycle,
    Done,
    NextStep,
    NotSent,
    Sending,
    Updated,
    Verdict,
    Why,
    follow_up,
    next_step,
    resolve_items,
    settle_outcome,
)

from .cases import (
    OM_ID,
    ORDERMESH_TOKEN_PATH,
    PATTERN_TOKEN_PATH,
    SHOP_ID,
    ordermesh_order,
    pattern_cancel_body,
    pattern_status,
    shoplazza_order,
    token_answer,
)

OM_ORDER = f"/v1/orders/{OM_ID}"
OM_CANCEL = f"/v1/orders/{OM_ID}/cancel"
STATUS = "/hub/v1/orders/status"
PATTERN_CANCEL = "/hub/v1/orders/cancel_order"
SHOP_ORDER = f"/openapi/2022-01/orders/{SHOP_ID}"
SHOP_CANCEL = f"{SHOP_ORDER}/cancel"
SHOP_BY_NUMBER = "/openapi/2022-01/orders/number/1004"


class UtcClock:
    """The lifecycle's wall clock (leases and windows), set by the test."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def fake_time(monkeypatch, clock):
    """Confirmation deadlines run on the fake sleep's clock."""
    monkeypatch.setattr(
        lifecycle_module, "time", SimpleNamespace(monotonic=clock, perf_counter=time.perf_counter)
    )
    return clock


@pytest.fixture
async def lifecycle_for(service_for, sleep, tmp_path):
    """``lifecycle_for(settings=None)`` → (lifecycle on a settable wall clock, its journal,
    the service whose providers it uses)."""
    journals: list[SqliteJournal] = []

    def make(settings=None):
        service = service_for(settings)
        journal = SqliteJournal.open(tmp_path / f"journal-{len(journals)}.sqlite3")
        journals.append(journal)
        wall = UtcClock()
        lifecycle = CancelLifecycle(
            service.settings, service.provider, journal, sleep=sleep, clock=wall
        )
        return lifecycle, journal, wall

    yield make
    for journal in journals:
        await journal.aclose()


async def run(lifecycle: CancelLifecycle, request: CancelRequest, **kw) -> list:
    async def go() -> list:
        return [e async for e in lifecycle.run(request, **kw)]

    return await asyncio.wait_for(go(), 5.0)


def om_request(*items: ItemSelection) -> CancelRequest:
    return CancelRequest(
        provider="ordermesh",
        order_id=OM_ID,
        reason="Customer changed mind",
        items=items,
        operator="tester",
    )


def pattern_request() -> CancelRequest:
    return CancelRequest(
        provider="pattern", order_id="MO-1", reason="customer asked", operator="tester"
    )


def om_item(item_id: str, quantity: int, status: str = "Processing", done: int = 0) -> dict:
    return {"id": item_id, "quantity": quantity, "cancelledQuantity": done, "status": status}


def order(*lines: Line, status: str = "open", **kw) -> Order:
    return Order(provider="ordermesh", order_id="O-1", status=status, lines=lines, **kw)


def line(line_id: str, quantity: int | None = 1, status: str = "open") -> Line:
    return Line(
        id=line_id,
        quantity=quantity,
        status=status,
        cancellable=status not in ("cancelled", "shipped", "error"),
    )


def unknown_outcome(**kw) -> CancelOutcome:
    return CancelOutcome(provider="ordermesh", order_id="O-1", outcome=Outcome.UNKNOWN, **kw)


def whole(order_id: str = "O-1") -> CancelRequest:
    return CancelRequest(provider="ordermesh", order_id=order_id, reason="r")


def items(*picked: tuple[str, int | None]) -> CancelRequest:
    return whole().model_copy(
        update={"items": tuple(ItemSelection(id=i, quantity=q) for i, q in picked)}
    )


# -- compare: what changed towards what was asked ------------------------------------------------


def test_an_order_now_cancelled_is_applied() -> None:
    before = order(line("A"), line("B"))
    now = order(line("A"), line("B"), status="cancelled", cancelled=True)
    evidence = compare(before, now, whole())
    assert evidence.change is Change.APPLIED
    assert [c.id for c in evidence.cancelled] == ["O-1"]


def test_an_item_quantity_cancel_shows_in_the_quantity_while_the_order_stays_open() -> None:
    before = order(line("A", 3, "Processing"), line("B", 1, "Processing"))
    all_gone = order(line("A", 1, "Processing"), line("B", 1, "Processing"))
    evidence = compare(before, all_gone, items(("A", 2)))
    assert evidence.change is Change.APPLIED
    assert [(c.id, c.quantity) for c in evidence.cancelled] == [("A", 2)]

    some_gone = order(line("A", 2, "Processing"), line("B", 1, "Processing"))
    evidence = compare(before, some_gone, items(("A", 2)))
    assert evidence.change is Change.PARTLY
    assert [(c.id, c.quantity) for c in evidence.cancelled] == [("A", 1)]

    same = compare(before, before, items(("A", 2)))
    assert same.change is Change.UNTOUCHED and same.cancelled == []
    more = compare(before, order(line("A", 5), line("B", 1)), items(("A", 2)))
    assert more.change is Change.UNTOUCHED


def test_a_line_cancelled_before_the_attempt_confirms_nothing() -> None:
    """Pattern: a sub-order an earlier attempt cancelled is not this attempt's work."""
    before = order(line("sub-order 1", status="cancelled"), line("sub-order 2", status="pending"))
    now = before
    assert compare(before, now, whole()).change is Change.UNTOUCHED
    later = order(line("sub-order 1", status="cancelled"), line("sub-order 2", status="cancelled"))
    evidence = compare(before, later, whole())
    assert evidence.change is Change.APPLIED
    assert [c.id for c in evidence.cancelled] == ["sub-order 2"]


def test_some_lines_cancelled_is_partly() -> None:
    before = order(line("A"), line("B"))
    now = order(line("A", status="cancelled"), line("B", status="shipped"))
    evidence = compare(before, now, whole())
    assert evidence.change is Change.PARTLY
    assert [c.id for c in evidence.cancelled] == ["A"]


def test_lines_that_moved_on_uncancelled_read_as_not_applied_and_final() -> None:
    """Every line asked for is now shipped or in error, none cancelled: the cancel did not
    apply and never can — not "untouched, may still take effect"."""
    before = order(line("A"), line("B"))
    now = order(line("A", status="shipped"), line("B", status="error"))
    for line_ in now.lines:
        assert not line_.cancellable
    evidence = compare(before, now, whole())
    assert evidence.change is Change.MOVED_ON and evidence.final
    assert [(m.id, m.status) for m in evidence.moved_on] == [("A", "shipped"), ("B", "error")]
    assert evidence.cancelled == []
    # One moved on, the other still cancellable: the cancel may still apply to it.
    waiting = compare(before, order(line("A", status="shipped"), line("B")), whole())
    assert waiting.change is Change.UNTOUCHED and not waiting.final
    # One cancelled, the other moved on: partly, and over.
    partly = compare(
        before, order(line("A", status="cancelled"), line("B", status="shipped")), whole()
    )
    assert partly.change is Change.PARTLY and partly.final
    # A line moved on that was not asked for says nothing.
    only_a = compare(before, order(line("A"), line("B", status="shipped")), items(("A", 1)))
    assert only_a.change is Change.UNTOUCHED and not only_a.final


def test_a_cancellation_in_progress_is_pending() -> None:
    before = order(line("A"))
    now = order(line("A"), cancel_pending=True)
    assert compare(before, now, whole()).change is Change.PENDING
    assert compare(now, now, whole()).change is Change.UNTOUCHED  # pending before: no change


def test_without_a_snapshot_only_a_whole_order_cancellation_is_evidence() -> None:
    """Attempts journalled before Stopline kept the order's state (version 1)."""
    cancelled = order(line("A", status="cancelled"), status="cancelled", cancelled=True)
    assert compare(None, cancelled, items(("A", 1))).change is Change.APPLIED
    open_order = order(line("A", 3))
    assert compare(None, open_order, items(("A", 1))).change is Change.UNREADABLE
    assert compare(None, open_order, whole()).change is Change.UNTOUCHED
    some = order(line("A", status="cancelled"), line("B"))
    assert compare(None, some, whole()).change is Change.UNREADABLE
    assert compare(None, order(line("A"), cancel_pending=True), whole()).change is Change.PENDING


# -- settle_outcome: the verdict on an unknown or initiated outcome -------------------------------

END = datetime(2025, 3, 1, 12, 0, 45, tzinfo=UTC)


def test_unknown_applied_is_complete_and_confirmed() -> None:
    evidence = Evidence(Change.APPLIED, [CancelledLine(id="A", quantity=2)], "cancelled now: A x2")
    settled = settle_outcome(
        unknown_outcome(warnings=["re-check: old"]), evidence, window_over=False
    )
    assert (settled.outcome, settled.confirmed) == (Outcome.COMPLETE, True)
    assert settled.cancelled == evidence.cancelled
    assert settled.warnings == ["re-check: the look-up shows it applied: cancelled now: A x2"]


def test_unknown_partly_applied_is_partial_and_confirmed() -> None:
    evidence = Evidence(Change.PARTLY, [CancelledLine(id="A", quantity=1)], "cancelled now: A x1")
    settled = settle_outcome(unknown_outcome(), evidence, window_over=True)
    assert (settled.outcome, settled.confirmed) == (Outcome.PARTIAL, True)
    assert settled.cancelled == evidence.cancelled


def test_unknown_pending_is_initiated_not_confirmed() -> None:
    settled = settle_outcome(unknown_outcome(), Evidence(Change.PENDING), window_over=True)
    assert (settled.outcome, settled.confirmed) == (Outcome.COMPLETE, False)
    assert next_step(settled) is NextStep.RECHECK


def test_unknown_untouched_inside_its_window_stays_unknown() -> None:
    settled = settle_outcome(
        unknown_outcome(),
        Evidence(Change.UNTOUCHED, words="unchanged"),
        window_over=False,
        window_end=END,
    )
    assert settled.outcome is Outcome.UNKNOWN and not settled.confirmed
    (note,) = settled.warnings
    assert note.startswith("re-check: untouched so far; it may still take effect until ")
    assert note.endswith(END.astimezone().strftime("%H:%M:%S"))


def test_unknown_untouched_after_its_window_is_closed_as_not_applied() -> None:
    settled = settle_outcome(
        unknown_outcome(), Evidence(Change.UNTOUCHED, words="unchanged"), window_over=True
    )
    assert (settled.outcome, settled.confirmed) == (Outcome.ERROR, False)
    assert settled.cancelled == []
    assert settled.message.startswith("not applied")
    assert next_step(settled) is NextStep.RETRY


def test_unknown_unreadable_stays_unknown_even_after_its_window() -> None:
    settled = settle_outcome(
        unknown_outcome(), Evidence(Change.UNREADABLE, words="compare by hand"), window_over=True
    )
    assert settled.outcome is Outcome.UNKNOWN
    assert settled.warnings == ["re-check: compare by hand"]


def test_an_initiated_cancel_is_confirmed_by_matching_not_by_counting() -> None:
    initiated = CancelOutcome(
        provider="pattern",
        order_id="MO-1",
        outcome=Outcome.COMPLETE,
        cancelled=[CancelledLine(id="42"), CancelledLine(id="43")],
    )
    one = Evidence(Change.PARTLY, [CancelledLine(id="sub-order 2")])
    assert settle_outcome(initiated, one, window_over=False).confirmed is False
    two = Evidence(
        Change.PARTLY, [CancelledLine(id="sub-order 2"), CancelledLine(id="sub-order 3")]
    )
    confirmed = settle_outcome(initiated, two, window_over=False)
    assert confirmed.confirmed is True and confirmed.outcome is Outcome.COMPLETE
    assert settle_outcome(initiated, Evidence(Change.APPLIED), window_over=False).confirmed
    # Untouched long after: still initiated, unconfirmed — never turned into "not applied".
    stale = settle_outcome(initiated, Evidence(Change.UNTOUCHED, words="x"), window_over=True)
    assert (stale.outcome, stale.confirmed) == (Outcome.COMPLETE, False)


def test_an_initiated_cancel_whose_lines_moved_on_is_settled_not_applied() -> None:
    """Pattern said "initiated", then every sub-order asked for went to error: nothing was
    cancelled. Within the window a sub-order may still come back (processing → backordered),
    so the cancel stays initiated; after it, it is settled as not applied — no longer held
    as awaiting confirmation, and never reported cancelled."""
    initiated = CancelOutcome(
        provider="pattern",
        order_id="MO-1",
        outcome=Outcome.COMPLETE,
        cancelled=[CancelledLine(id="42")],
    )
    moved = Evidence(
        Change.MOVED_ON,
        moved_on=[NotCancelledLine(id="sub-order 1", status="error")],
        words="no longer cancellable: sub-order 1 is error",
        final=True,
    )
    waiting = settle_outcome(initiated, moved, window_over=False, window_end=END)
    assert (waiting.outcome, waiting.confirmed) == (Outcome.COMPLETE, False)
    assert next_step(waiting) is NextStep.RECHECK
    assert waiting.warnings[-1].startswith("re-check: nothing cancelled so far")
    settled = settle_outcome(initiated, moved, window_over=True)
    assert (settled.outcome, settled.confirmed) == (Outcome.ERROR, False)
    assert settled.cancelled == [] and settled.message.startswith("not applied")
    assert [n.id for n in settled.not_cancelled] == ["sub-order 1"]
    assert next_step(settled) is NextStep.RETRY
    # An unknown whose lines moved on: the same — held inside its window, then not applied.
    unknown = unknown_outcome()
    assert settle_outcome(unknown, moved, window_over=False).outcome is Outcome.UNKNOWN
    assert settle_outcome(unknown, moved, window_over=True).outcome is Outcome.ERROR


def test_an_initiated_cancel_partly_applied_and_the_rest_moved_on_is_never_complete() -> None:
    """One sub-order cancelled, the other shipped — even when Pattern's answer listed one
    warehouse order (it does not say how they map to sub-orders): never ``complete``;
    ``partial``, confirmed, once the window is over."""
    initiated = CancelOutcome(
        provider="pattern",
        order_id="MO-1",
        outcome=Outcome.COMPLETE,
        cancelled=[CancelledLine(id="42")],
    )
    partly = Evidence(
        Change.PARTLY,
        [CancelledLine(id="sub-order 2")],
        "cancelled now: sub-order 2",
        moved_on=[NotCancelledLine(id="sub-order 1", status="shipped")],
        final=True,
    )
    waiting = settle_outcome(initiated, partly, window_over=False)
    assert (waiting.outcome, waiting.confirmed) == (Outcome.COMPLETE, False)
    over = settle_outcome(initiated, partly, window_over=True)
    assert (over.outcome, over.confirmed) == (Outcome.PARTIAL, True)
    assert [c.id for c in over.cancelled] == ["sub-order 2"]
    assert [n.id for n in over.not_cancelled] == ["sub-order 1"]
    assert next_step(over) is NextStep.NONE


def test_a_line_asked_for_that_left_the_order_makes_it_unreadable() -> None:
    """Re-keyed or split lines: nothing to compare with — never "unchanged", so an unknown
    attempt is never closed as not applied (and sent again) on it."""
    before = order(line("X"), line("S", status="shipped"))
    now = order(line("X2", status="cancelled"), line("S", status="shipped"))
    evidence = compare(before, now, whole())
    assert evidence.change is Change.UNREADABLE and "X" in evidence.words
    settled = settle_outcome(unknown_outcome(), evidence, window_over=True)
    assert settled.outcome is Outcome.UNKNOWN


def test_next_step_and_follow_up() -> None:
    def outcome(kind: Outcome, confirmed: bool = False) -> CancelOutcome:
        return CancelOutcome(
            provider="p", order_id="o", outcome=kind, confirmed=confirmed, attempt_id=9
        )

    assert next_step(outcome(Outcome.UNKNOWN)) is NextStep.RECHECK
    assert next_step(outcome(Outcome.COMPLETE)) is NextStep.RECHECK
    assert next_step(outcome(Outcome.PARTIAL)) is NextStep.RECHECK
    assert next_step(outcome(Outcome.COMPLETE, confirmed=True)) is NextStep.NONE
    assert next_step(outcome(Outcome.ERROR)) is NextStep.RETRY
    assert next_step(outcome(Outcome.REFUSED)) is NextStep.NONE
    assert next_step(outcome(Outcome.NOT_FOUND)) is NextStep.NONE
    request = whole()
    assert follow_up(Done(request, outcome(Outcome.UNKNOWN))) == (NextStep.RECHECK, 9)
    assert follow_up(NotSent(request, Why.HELD, "held")) == (NextStep.RETRY, None)
    assert follow_up(NotSent(request, Why.NOT_FOUND, "gone")) == (NextStep.NONE, None)


# -- resolve_items: items checked against the order before anything is sent -----------------------


def test_resolve_items_fills_in_what_is_left() -> None:
    before = order(line("A", 3), line("B", 1))
    resolved = resolve_items(items(("A", None), ("B", 1)), before)
    assert [(i.id, i.quantity) for i in resolved.items] == [("A", 3), ("B", 1)]
    assert resolve_items(whole(), before) == whole()


@pytest.mark.parametrize(
    ("picked", "words"),
    [
        (("Z", 1), "item Z is not on OrderMesh order O-1"),
        (("A", 4), "item A: 4 asked, only 3 left to cancel"),
        (("C", None), "item C: nothing left to cancel"),
    ],
)
def test_resolve_items_refuses_what_does_not_fit(picked, words) -> None:
    before = order(line("A", 3), line("C", 0, "Cancelled"))
    with pytest.raises(InvalidInput, match=words):
        resolve_items(items(picked), before)


# -- through the lifecycle, against the fake API -------------------------------------------------


@pytest.mark.parametrize(
    ("item", "asked", "now_done", "outcome", "gone"),
    [
        pytest.param("i1", 2, 2, Outcome.COMPLETE, 2, id="all-asked"),
        pytest.param("i1", 2, 1, Outcome.PARTIAL, 1, id="some"),
        pytest.param("i1", None, 3, Outcome.COMPLETE, 3, id="all-left"),
    ],
)
async def test_item_quantity_cancel_whose_answer_was_lost_is_settled_by_quantity(
    api, service_for, item, asked, now_done, outcome, gone
):
    """OrderMesh: the order stays "Processing"; only the quantity shows the cancel."""
    api.add("POST", ORDERMESH_TOKEN_PATH, token_answer("om-1"))
    api.add(
        "GET",
        OM_ORDER,
        (200, ordermesh_order("Processing", om_item("i1", 3), om_item("i2", 1))),
        (200, ordermesh_order("Processing", om_item("i1", 3, done=now_done), om_item("i2", 1))),
    )
    api.add("POST", OM_CANCEL, httpx.ReadTimeout)
    service = service_for()

    final = await service.cancel(om_request(ItemSelection(id=item, quantity=asked)))

    assert isinstance(final, Done)
    assert (final.outcome.outcome, final.outcome.confirmed) == (outcome, True)
    assert [(c.id, c.quantity) for c in final.outcome.cancelled] == [("i1", gone)]
    (sent,) = api.calls("POST", OM_CANCEL)
    # The provider was sent the quantity the look-up showed open when none was given.
    assert json.loads(sent.content)["orderItems"] == [{"id": "i1", "quantity": asked or 3}]
    assert len(api.calls("GET", OM_ORDER)) == 2
    stored = await service.attempt(final.outcome.attempt_id)
    assert stored is not None and not stored.open
    assert [(i.id, i.quantity) for i in stored.items] == [("i1", asked)]  # as asked


async def test_untouched_inside_the_window_stays_unknown_after_it_is_closed_as_error(
    api, lifecycle_for
):
    """An unanswered cancel the look-up shows untouched: unknown (the order held) until its
    window — deadline plus settle time — is over; then closed as not applied, and the order
    may be sent again."""
    lifecycle, journal, wall = lifecycle_for()
    api.add("POST", ORDERMESH_TOKEN_PATH, token_answer("om-1"))
    api.add("GET", OM_ORDER, (200, ordermesh_order("Processing", om_item("i1", 3))))
    api.add("POST", OM_CANCEL, httpx.ReadTimeout, (200, "OK"))
    request = om_request(ItemSelection(id="i1", quantity=1))

    first = (await run(lifecycle, request))[-1]
    assert isinstance(first, Done) and first.outcome.outcome is Outcome.UNKNOWN
    attempt = await journal.get(first.outcome.attempt_id)
    assert attempt is not None and attempt.open
    section = lifecycle.settings.providers()["ordermesh"]
    window = timedelta(seconds=SEND_BUDGET_TIMEOUTS * section.timeout_s + section.settle_s)
    assert attempt.lease_until == wall.now + window

    # Inside the window: reconciling leaves it unknown, the claim held.
    wall.advance(seconds=window.total_seconds() - 1)
    inside = await lifecycle.reconcile(attempt)
    assert inside.verdict is Verdict.UNKNOWN
    assert inside.attempt.open and inside.attempt.outcome is Outcome.UNKNOWN
    held = (await run(lifecycle, request))[-1]
    assert isinstance(held, NotSent) and held.why is Why.EARLIER_UNKNOWN
    assert len(api.calls("POST", OM_CANCEL)) == 1

    # After the window: the same look-up closes it as not applied.
    wall.advance(seconds=2)
    after = await lifecycle.reconcile(inside.attempt)
    assert after.verdict is Verdict.NOT_APPLIED and after.may_send_again
    assert after.attempt.outcome is Outcome.ERROR and not after.attempt.open
    assert after.attempt.message.startswith("not applied")
    assert after.attempt.cancelled == []
    assert len(api.calls("POST", OM_CANCEL)) == 1  # reconciling never sends

    again = await run(lifecycle, request)
    final = again[-1]
    assert isinstance(final, Done) and final.outcome.outcome is Outcome.COMPLETE
    assert any("sent again" in note for note in final.notes)
    assert len(api.calls("POST", OM_CANCEL)) == 2


async def test_a_new_cancel_reconciles_an_open_attempt_whose_window_is_over(api, lifecycle_for):
    """The same, found by the next cancel rather than a re-check: it is reconciled first,
    closed as not applied, and only then is the new request sent."""
    lifecycle, journal, wall = lifecycle_for()
    api.add("POST", ORDERMESH_TOKEN_PATH, token_answer("om-1"))
    api.add("GET", OM_ORDER, (200, ordermesh_order("Processing", om_item("i1", 3))))
    api.add("POST", OM_CANCEL, httpx.ReadTimeout, (200, "OK"))
    request = om_request()

    first = (await run(lifecycle, request))[-1]
    assert isinstance(first, Done) and first.outcome.outcome is Outcome.UNKNOWN
    wall.advance(hours=1)

    events = await run(lifecycle, request)

    sending = next(e for e in events if isinstance(e, Sending))
    assert any(f"attempt #{first.outcome.attempt_id} was unknown" in n for n in sending.notes)
    final = events[-1]
    assert isinstance(final, Done) and final.outcome.outcome is Outcome.COMPLETE
    earlier = await journal.get(first.outcome.attempt_id)
    assert earlier is not None and earlier.outcome is Outcome.ERROR and not earlier.open
    assert len(api.calls("POST", OM_CANCEL)) == 2


async def test_an_open_attempt_the_lookup_shows_applied_stops_a_new_cancel(api, lifecycle_for):
    lifecycle, journal, _ = lifecycle_for()
    api.add("POST", ORDERMESH_TOKEN_PATH, token_answer("om-1"))
    api.add(
        "GET",
        OM_ORDER,
        (200, ordermesh_order("Processing", om_item("i1", 3))),
        (200, ordermesh_order("Processing", om_item("i1", 3))),
        (200, ordermesh_order("Cancelled", om_item("i1", 3, "Cancelled"))),
    )
    api.add("POST", OM_CANCEL, httpx.ReadTimeout)
    request = om_request()
    first = (await run(lifecycle, request))[-1]
    assert isinstance(first, Done) and first.outcome.outcome is Outcome.UNKNOWN

    final = (await run(lifecycle, request))[-1]

    assert isinstance(final, NotSent) and final.why is Why.EARLIER_APPLIED
    assert final.outcome is not None and final.outcome.outcome is Outcome.COMPLETE
    assert final.outcome.confirmed
    assert len(api.calls("POST", OM_CANCEL)) == 1
    assert (await journal.open_attempt("ordermesh", OM_ID)) is None


async def test_an_attempt_held_by_a_live_process_is_not_looked_at(api, lifecycle_for):
    lifecycle, journal, wall = lifecycle_for()
    parent = os.getppid()
    holder = Holder(
        operator="other", host=host_name(), pid=parent, pid_started=process_started(parent)
    )
    request = om_request()
    claim = await journal.claim(
        request, holder, lease_until=wall.now + timedelta(minutes=5), take_over=lambda a: False
    )
    assert claim.attempt_id is not None

    final = (await run(lifecycle, request))[-1]

    assert isinstance(final, NotSent) and final.why is Why.HELD
    assert final.attempt is not None and final.attempt.id == claim.attempt_id
    assert api.requests == []  # not even a look-up


# -- Pattern: sub-orders --------------------------------------------------------------------------


async def test_pattern_unknown_cancel_that_partly_happened_is_partial(api, service_for):
    api.add("POST", PATTERN_TOKEN_PATH, token_answer("tok-1"))
    api.add("POST", PATTERN_CANCEL, httpx.ReadTimeout)
    api.add(
        "GET",
        STATUS,
        (200, pattern_status("processing", "pending", "pending")),
        (200, pattern_status("processing", "cancelled", "shipped")),
    )
    service = service_for()

    final = await service.cancel(pattern_request())

    assert isinstance(final, Done)
    settled = final.outcome
    assert (settled.outcome, settled.confirmed) == (Outcome.PARTIAL, True)
    assert [(c.id, c.status) for c in settled.cancelled] == [("sub-order 1", "cancelled")]
    assert any(
        w.startswith("re-check: the look-up shows it partly applied") for w in settled.warnings
    )
    assert len(api.calls("POST", PATTERN_CANCEL)) == 1


async def test_pattern_sub_order_cancelled_before_the_attempt_confirms_nothing(api, service_for):
    """An earlier cancel's sub-order does not make this unknown attempt "partial"."""
    api.add("POST", PATTERN_TOKEN_PATH, token_answer("tok-1"))
    api.add("POST", PATTERN_CANCEL, httpx.ReadTimeout)
    api.add("GET", STATUS, (200, pattern_status("processing", "cancelled", "pending")))
    service = service_for()

    final = await service.cancel(pattern_request())

    assert isinstance(final, Done)
    assert final.outcome.outcome is Outcome.UNKNOWN
    assert final.outcome.confirmed is False and final.outcome.cancelled == []
    assert len(api.calls("GET", STATUS)) == 2


async def test_pattern_initiated_cancel_is_confirmed_only_when_its_sub_orders_went_cancelled(
    api, service_for, settings_for, sleep, fake_time
):
    """Two warehouse orders initiated; sub-order 1 was cancelled before. Two sub-orders
    showing cancelled is not enough: two must have gone from open to cancelled."""
    api.add("POST", PATTERN_TOKEN_PATH, token_answer("tok-1"))
    api.add("POST", PATTERN_CANCEL, (200, pattern_cancel_body(cancelled=(42, 43))))
    api.add(
        "GET",
        STATUS,
        (200, pattern_status("processing", "cancelled", "pending", "pending")),  # before
        (200, pattern_status("processing", "cancelled", "cancelled", "pending")),  # 1 of 2
        (200, pattern_status("processing", "cancelled", "cancelled", "cancelled")),
    )
    service = service_for(settings_for(confirm_poll_s=1.0, confirm_timeout_s=30))

    events = [e async for e in service.cancel_events(pattern_request(), confirm=True)]

    answered = next(e for e in events if isinstance(e, Answered))
    assert answered.outcome.outcome is Outcome.COMPLETE and not answered.outcome.confirmed
    (update,) = [e for e in events if isinstance(e, Updated)]
    assert update.polls == 2  # not confirmed at the first poll
    assert update.outcome.confirmed is True
    assert sleep.delays == [1.0, 1.0]
    assert len(api.calls("POST", PATTERN_CANCEL)) == 1


# -- items that do not fit the order: nothing is sent ---------------------------------------------


@pytest.mark.parametrize(
    ("item", "words"),
    [
        pytest.param(ItemSelection(id="nope", quantity=1), "item nope is not on", id="unknown"),
        pytest.param(ItemSelection(id="i1", quantity=5), "5 asked, only 2 left", id="too-many"),
        pytest.param(ItemSelection(id="i2"), "nothing left to cancel", id="none-left"),
    ],
)
async def test_items_that_do_not_fit_the_order_raise_before_anything_is_sent(
    api, service_for, item, words
):
    api.add("POST", ORDERMESH_TOKEN_PATH, token_answer("om-1"))
    api.add(
        "GET",
        OM_ORDER,
        (200, ordermesh_order("Processing", om_item("i1", 2), om_item("i2", 1, done=1))),
    )
    service = service_for()

    with pytest.raises(InvalidInput, match=words):
        await service.cancel(om_request(item))

    assert api.calls("POST", OM_CANCEL) == []
    assert len(api.calls("GET", OM_ORDER)) == 1
    assert await service.attempts() == []  # the claim was withdrawn
    assert await service.open_attempt("ordermesh", OM_ID) is None


# -- identifiers that are not the provider's own id -----------------------------------------------


async def test_a_shoplazza_number_is_resolved_and_claimed_under_the_real_id(api, service_for):
    api.add("GET", SHOP_BY_NUMBER, (200, shoplazza_order("opened")))
    api.add("GET", SHOP_ORDER, (200, shoplazza_order("opened")))
    api.add("POST", SHOP_CANCEL, (200, shoplazza_order("cancelled")))
    service = service_for()
    request = CancelRequest(provider="shoplazza", order_id="1004", reason="duplicate")

    events = [e async for e in service.cancel_events(request)]

    sending = next(e for e in events if isinstance(e, Sending))
    assert sending.request.order_id == SHOP_ID
    final = events[-1]
    assert isinstance(final, Done) and final.outcome.outcome is Outcome.COMPLETE
    assert final.outcome.order_id == SHOP_ID
    assert f"1004 is order {SHOP_ID}" in final.notes
    assert len(api.calls("POST", SHOP_CANCEL)) == 1
    (attempt,) = await service.attempts()  # the claim under the number was withdrawn
    assert attempt.order_id == SHOP_ID and attempt.id == final.outcome.attempt_id
    assert await service.attempts(order_id="1004") == []


async def test_a_shoplazza_number_finds_the_attempt_holding_the_real_id(api, service_for):
    """Cancelling by number while an unknown attempt by id holds the order sends nothing."""
    api.add("GET", SHOP_BY_NUMBER, (200, shoplazza_order("opened")))
    api.add("GET", SHOP_ORDER, (200, shoplazza_order("opened")))
    api.add("POST", SHOP_CANCEL, httpx.ReadTimeout)
    service = service_for()
    first = await service.cancel(
        CancelRequest(provider="shoplazza", order_id=SHOP_ID, reason="duplicate")
    )
    assert isinstance(first, Done) and first.outcome.outcome is Outcome.UNKNOWN

    final = await service.cancel(
        CancelRequest(provider="shoplazza", order_id="#1004", reason="duplicate")
    )

    assert isinstance(final, NotSent) and final.why is Why.EARLIER_UNKNOWN
    assert final.attempt is not None and final.attempt.id == first.outcome.attempt_id
    assert len(api.calls("POST", SHOP_CANCEL)) == 1
    assert len(api.calls("GET", SHOP_BY_NUMBER)) == 1


async def test_an_item_the_lookup_now_shows_cancelled_settles_an_unknown_cancel(api, service_for):
    """OrderMesh: the item's status went to Cancelled (its quantity left as it was)."""
    api.add("POST", ORDERMESH_TOKEN_PATH, token_answer("om-1"))
    api.add(
        "GET",
        OM_ORDER,
        (200, ordermesh_order("Processing", om_item("i1", 1), om_item("i2", 1))),
        (200, ordermesh_order("Processing", om_item("i1", 1, "Cancelled"), om_item("i2", 1))),
    )
    api.add("POST", OM_CANCEL, httpx.ReadTimeout)
    service = service_for()

    final = await service.cancel(om_request(ItemSelection(id="i1", quantity=1)))

    assert isinstance(final, Done)
    assert (final.outcome.outcome, final.outcome.confirmed) == (Outcome.COMPLETE, True)
    assert [c.id for c in final.outcome.cancelled] == ["i1"]
