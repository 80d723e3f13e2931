"""The lifecycle's limits in time and in rounds: a cancel never goes on sending past the
budget its lease was written for; one stopped mid-flight is finished unknown and reconciled,
not left "being sent" by a process that no longer sends it; a write-ahead interrupted before
the request left is closed as not applied; a claim that keeps changing hands ends held.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from tui.core.domain import CancelRequest, ItemSelection, Outcome
from tui.core.holders import this_process
from tui.core.journal import AttemptState, Claim, SqliteJournal
from tui.core.lifecycle import (
    MAX_ROUNDS,
    SEND_BUDGET_TIMEOUTS,
    CancelLifecycle,
    Done,
    NotSent,
    Why,
)

from .cases import OM_ID, ORDERMESH_TOKEN_PATH, ordermesh_order, token_answer
from .fakes import make_settings
from .test_lifecycle import UtcClock, om_item

OM_ORDER = f"/v1/orders/{OM_ID}"
OM_CANCEL = f"/v1/orders/{OM_ID}/cancel"


def om_request() -> CancelRequest:
    return CancelRequest(
        provider="ordermesh",
        order_id=OM_ID,
        reason="Customer changed mind",
        items=(ItemSelection(id="i1", quantity=1),),
        operator="tester",
    )


def fresh_lifecycle(service, journal, wall: UtcClock) -> CancelLifecycle:
    return CancelLifecycle(service.settings, service.provider, journal, clock=wall)


async def collect(lifecycle: CancelLifecycle, request: CancelRequest) -> list:
    return [e async for e in lifecycle.run(request)]


async def test_a_cancel_still_retrying_at_the_end_of_its_budget_is_cut_off_unknown(
    api, service_for, tmp_path
) -> None:
    """Rate limited, with a Retry-After longer than the budget left: the wait is cut off at
    the budget — no later try leaves — and the outcome is unknown (settled by a look-up),
    the lease written for exactly that budget plus the settle time."""
    settings = make_settings(ordermesh={"timeout_s": 0.2, "settle_s": 5})
    service = service_for(settings, sleep=asyncio.sleep)  # the real wait, cut by the budget
    api.add("POST", ORDERMESH_TOKEN_PATH, token_answer("om-1"))
    api.add("GET", OM_ORDER, (200, ordermesh_order("Processing", om_item("i1", 3))))
    api.add("POST", OM_CANCEL, (429, "slow down", {"retry-after": "5"}))
    journal = SqliteJournal.open(tmp_path / "j.sqlite3")
    wall = UtcClock()
    try:
        events = await asyncio.wait_for(
            collect(fresh_lifecycle(service, journal, wall), om_request()), 4.0
        )
        done = events[-1]
        assert isinstance(done, Done) and done.outcome.outcome is Outcome.UNKNOWN
        assert "allowed for sending, retries included" in done.outcome.message
        assert len(api.calls("POST", OM_CANCEL)) == 1  # the 5 s wait never ended in a retry
        row = await journal.get(done.outcome.attempt_id)
        assert row is not None and row.open and row.outcome is Outcome.UNKNOWN
        budget = SEND_BUDGET_TIMEOUTS * 0.2
        assert row.lease_until == wall.now + timedelta(seconds=budget + 5)
    finally:
        await journal.aclose()


async def test_a_cancel_stopped_mid_flight_is_finished_unknown_and_reconciled_after_settling(
    api, service_for, tmp_path
) -> None:
    """The console's ``s`` (or ctrl-c) while the provider holds the request: the attempt is
    finished unknown with its lease cut to the settle time from now — held as unknown, not
    as "being cancelled" — and once that is over a look-up showing the order untouched
    closes it as not applied, and the cancel may go out again."""
    settings = make_settings(ordermesh={"timeout_s": 30, "settle_s": 4})
    service = service_for(settings)
    never_answered, arrived = asyncio.Event(), asyncio.Event()

    async def hold(request: httpx.Request) -> httpx.Response:
        arrived.set()
        await never_answered.wait()
        return httpx.Response(200, text="OK")

    api.add("POST", ORDERMESH_TOKEN_PATH, token_answer("om-1"))
    api.add("GET", OM_ORDER, (200, ordermesh_order("Processing", om_item("i1", 3))))
    api.add("POST", OM_CANCEL, hold, (200, "OK"))
    journal = SqliteJournal.open(tmp_path / "j.sqlite3")
    wall = UtcClock()
    lifecycle = fresh_lifecycle(service, journal, wall)
    try:
        task = asyncio.create_task(collect(lifecycle, om_request()))
        await arrived.wait()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        [row] = await journal.attempts(limit=None)
        assert (row.state, row.outcome, row.open) == (
            AttemptState.FINISHED,
            Outcome.UNKNOWN,
            True,
        )
        assert row.message == "stopped while the request was in flight"
        assert row.lease_until == wall.now + timedelta(seconds=4)
        assert not lifecycle.in_flight(row)

        held = (await collect(lifecycle, om_request()))[-1]
        assert isinstance(held, NotSent) and held.why is Why.EARLIER_UNKNOWN
        assert len(api.calls("POST", OM_CANCEL)) == 1

        wall.advance(seconds=5)
        again = await collect(lifecycle, om_request())
        assert isinstance(again[-1], Done) and again[-1].outcome.outcome is Outcome.COMPLETE
        assert len(api.calls("POST", OM_CANCEL)) == 2
        closed = await journal.get(row.id)
        assert closed is not None and closed.outcome is Outcome.ERROR and not closed.open
    finally:
        await journal.aclose()


class WriteAheadThenStop(SqliteJournal):
    """The write-ahead commits, and the task is stopped before it hears so."""

    async def mark_sent(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        await super().mark_sent(*args, **kwargs)
        raise asyncio.CancelledError


async def test_a_write_ahead_that_landed_as_the_cancel_stopped_is_closed_as_not_applied(
    api, service_for, tmp_path
) -> None:
    service = service_for()
    api.add("POST", ORDERMESH_TOKEN_PATH, token_answer("om-1"))
    api.add("GET", OM_ORDER, (200, ordermesh_order("Processing", om_item("i1", 3))))
    api.add("POST", OM_CANCEL, (200, "OK"))
    journal = WriteAheadThenStop.open(tmp_path / "j.sqlite3")
    try:
        lifecycle = fresh_lifecycle(service, journal, UtcClock())
        task = asyncio.create_task(collect(lifecycle, om_request()))
        result = await asyncio.gather(task, return_exceptions=True)
        assert isinstance(result[0], asyncio.CancelledError)
        assert api.calls("POST", OM_CANCEL) == []
        [row] = await journal.attempts(limit=None)
        assert (row.state, row.outcome, row.open) == (
            AttemptState.FINISHED,
            Outcome.ERROR,
            False,
        )
        assert row.message == "stopped before the request left: nothing was sent"
    finally:
        await journal.aclose()


class ClaimAlwaysHeld(SqliteJournal):
    """Every claim finds the order held by an attempt that, looked at, is already over —
    as when other processes keep claiming and releasing it between our tries."""

    held_by = None

    async def claim(self, request, holder, **kwargs) -> Claim:  # type: ignore[no-untyped-def]
        self.tries = getattr(self, "tries", 0) + 1
        return Claim(holder=self.held_by)


async def test_a_claim_that_keeps_changing_hands_ends_held_and_sends_nothing(
    api, service_for, tmp_path
) -> None:
    service = service_for()
    api.add("POST", OM_CANCEL, (200, "OK"))
    journal = ClaimAlwaysHeld.open(tmp_path / "j.sqlite3")
    try:
        real = await SqliteJournal.claim(
            journal,
            om_request(),
            this_process("x"),
            lease_until=UtcClock().now,
            take_over=lambda attempt: False,
        )
        assert real.attempt_id is not None
        await journal.withdraw(real.attempt_id, "released by its process")
        journal.held_by = await journal.get(real.attempt_id)

        final = (await collect(fresh_lifecycle(service, journal, UtcClock()), om_request()))[-1]

        assert isinstance(final, NotSent) and final.why is Why.HELD
        assert f"changed hands {MAX_ROUNDS} times" in final.message
        assert journal.tries == MAX_ROUNDS
        assert api.calls("POST", OM_CANCEL) == []
    finally:
        await journal.aclose()


async def test_a_process_frozen_past_its_budget_sends_no_further_try_when_it_runs_again(
    api, service_for, tmp_path
) -> None:
    """Rate limited, then frozen (SIGSTOP, a suspended VM) through the wait and past the
    budget: the event loop never ran, so nothing cut the wait off. When it runs again, the
    next try is refused at the last moment before it leaves — the lease another machine
    trusts has run out — and the cancel is an error that provably did not apply (every try
    that left was answered 429)."""
    import time

    budget = SEND_BUDGET_TIMEOUTS * 0.1

    async def frozen(seconds: float) -> None:
        time.sleep(budget + 0.1)  # noqa: ASYNC251 (the whole process stands still, on purpose)

    settings = make_settings(ordermesh={"timeout_s": 0.1, "settle_s": 5})
    service = service_for(settings, sleep=frozen)
    api.add("POST", ORDERMESH_TOKEN_PATH, token_answer("om-1"))
    api.add("GET", OM_ORDER, (200, ordermesh_order("Processing", om_item("i1", 3))))
    api.add("POST", OM_CANCEL, (429, "slow down", {"retry-after": "0"}), (200, "OK"))
    journal = SqliteJournal.open(tmp_path / "j.sqlite3")
    try:
        done = (await collect(fresh_lifecycle(service, journal, UtcClock()), om_request()))[-1]
        assert isinstance(done, Done) and done.outcome.outcome is Outcome.ERROR
        assert "ran out before this try left" in done.outcome.message
        assert len(api.calls("POST", OM_CANCEL)) == 1
    finally:
        await journal.aclose()
