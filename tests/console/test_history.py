"""The history screen against the sandbox: a console cancel shows up, ``/`` narrows, ``enter``
shows everything recorded, an open attempt shows as OPEN or IN FLIGHT apart from settled ones,
and ``r`` settles an unknown attempt by looking, never by sending."""

from __future__ import annotations

import subprocess
from typing import Any

from tui import messages as msg
from tui.core.domain import (
    CancelledLine,
    CancelOutcome,
    CancelRequest,
    ItemSelection,
    NotCancelledLine,
    Outcome,
)
from tui.core.journal import AttemptState, SqliteStore
from tui.sandbox import control, showcase
from tui.screens.help import HelpScreen
from tui.screens.history import AttemptDetailScreen, HistoryScreen

from .conftest import AppFactory
from .helpers import (
    FAR_LEASE,
    Recorder,
    cancel_calls,
    cancel_with,
    claim,
    dead_holder,
    fault_once_written_ahead,
    final_outcome,
    finished_attempt,
    holder_of,
    look_up,
    lookup_screen,
    plain,
    sent_attempt,
    settle,
)

SIZE = (80, 24)
MESH = showcase.ORDERMESH_MULTI_ITEM


def rows(screen: HistoryScreen) -> list[list[str]]:
    table = screen.table
    if table is None or not table.is_mounted:
        return []
    return [list(table.get_row_at(i)) for i in range(table.row_count)]


async def open_history(pilot: Any) -> HistoryScreen:
    app = pilot.app
    lookup_screen(app).results.focus()
    await pilot.press("h")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, HistoryScreen)
    return screen


def seed(store: SqliteStore) -> None:
    """Three attempts, oldest first: complete (alice), partial (bob), and one alice's process
    sent and died with (no answer: open, unknown until reconciled)."""
    alice, bob = dead_holder("alice"), dead_holder("bob")
    complete = CancelRequest(
        provider="shoplazza",
        order_id=showcase.SHOPLAZZA_OPEN_ID,
        reason="Customer request",
        operator="alice",
    )
    finished_attempt(
        store,
        complete,
        alice,
        CancelOutcome(
            provider="shoplazza",
            order_id=showcase.SHOPLAZZA_OPEN_ID,
            outcome=Outcome.COMPLETE,
            http_status=200,
            confirmed=True,
        ),
    )
    partial = CancelRequest(
        provider="ordermesh",
        order_id=MESH,
        reason="Duplicate order",
        items=(ItemSelection(id="ITEM-A", quantity=2), ItemSelection(id="ITEM-B")),
        operator="bob",
    )
    finished_attempt(
        store,
        partial,
        bob,
        CancelOutcome(
            provider="ordermesh",
            order_id=MESH,
            outcome=Outcome.PARTIAL,
            http_status=200,
            confirmed=True,
            message="[bold red]half[/] done \x1b[31mRED",
            cancelled=[CancelledLine(id="ITEM-A", quantity=2)],
            not_cancelled=[NotCancelledLine(id="ITEM-B", status="Shipped", reason="on its way")],
            warnings=["[link=http://x]look[/link]"],
            request_id="req-7781",
        ),
    )
    sent_attempt(
        store,
        CancelRequest(
            provider="pattern",
            order_id=showcase.PATTERN_PARTIAL,
            reason="Inventory / stock-out",
            operator="alice",
        ),
        alice,
        lease_until=FAR_LEASE,
    )


async def test_a_cancel_made_in_the_console_is_listed(make_journal_app: AppFactory) -> None:
    app = make_journal_app()
    async with app.run_test(size=SIZE) as pilot:
        lookup = await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        await cancel_with(pilot)
        assert final_outcome(lookup).outcome is Outcome.COMPLETE
        history = await open_history(pilot)
        shown = rows(history)
        assert len(shown) == 1
        _time, provider, order, outcome, reason, operator, confirmed, http = shown[0]
        assert (operator, provider, order) == ("test-operator", "Shoplazza", "633130-00000004")
        assert (outcome, confirmed, http) == ("COMPLETE", "yes", "200")
        assert reason == "Customer request"
        assert "1 attempt," in plain(history.query_one("#history-status").render())
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is lookup


async def test_filter_narrows_and_escape_backs_out(
    make_journal_app: AppFactory, journal_store: SqliteStore
) -> None:
    seed(journal_store)
    app = make_journal_app()
    async with app.run_test(size=SIZE) as pilot:
        history = await open_history(pilot)
        assert [r[2] for r in rows(history)] == [
            showcase.PATTERN_PARTIAL,  # newest first
            MESH,
            showcase.SHOPLAZZA_OPEN_ID,
        ]
        # Its process died after sending: no answer, so it holds its order, unknown.
        assert [r[3] for r in rows(history)] == ["OPEN", "PARTIAL", "COMPLETE"]
        assert "1 unknown" in plain(history.query_one("#history-status").render())
        await pilot.press("slash")
        assert history.focused is history.filter_input
        await pilot.press(*"alice")
        await pilot.pause()
        assert [r[2] for r in rows(history)] == [
            showcase.PATTERN_PARTIAL,
            showcase.SHOPLAZZA_OPEN_ID,
        ]
        await pilot.press(*" unknown")
        await pilot.pause()
        assert [r[2] for r in rows(history)] == [showcase.PATTERN_PARTIAL]
        assert "1 of 3 attempts match" in plain(history.query_one("#history-status").render())
        history.filter_input.value = "open"  # by the word shown
        await pilot.pause()
        assert [r[2] for r in rows(history)] == [showcase.PATTERN_PARTIAL]
        history.filter_input.value = "orderm"  # by provider name
        await pilot.pause()
        assert [r[2] for r in rows(history)] == [MESH]
        history.filter_input.value = "nothing-like-this"
        await pilot.pause()
        assert rows(history) == []
        assert "No attempts match" in plain(history.query_one("#history-note").render())
        history.filter_input.value = "alice"
        await pilot.pause()
        await pilot.press("escape")  # leaves the field for the table; the filter stays
        await pilot.pause()
        assert history.focused is history.table
        assert len(rows(history)) == 2
        await pilot.press("escape")  # clears the filter
        await pilot.pause()
        assert history.filter_input.value == ""
        assert len(rows(history)) == 3
        await pilot.press("escape")  # back to the lookup screen
        await pilot.pause()
        assert app.screen is lookup_screen(app)


async def test_enter_shows_the_full_detail_literally(
    make_journal_app: AppFactory, journal_store: SqliteStore
) -> None:
    seed(journal_store)
    app = make_journal_app()
    async with app.run_test(size=SIZE) as pilot:
        history = await open_history(pilot)
        await pilot.press("j")  # the ordermesh attempt
        await pilot.press("enter")
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, AttemptDetailScreen)
        assert detail.attempt.order_id == MESH
        text = plain(detail.body_text(), width=100)
        for expected in (
            "PARTIAL",
            "OrderMesh",
            "bob",
            "Duplicate order",
            "ITEM-A x2",
            "ITEM-B (all open)",
            "ITEM-B — Shipped: on its way",
            "[bold red]half[/] done RED",  # markup shown as text, escape sequence removed
            "[link=http://x]look[/link]",
            "req-7781",
            "12 ms",
        ):
            assert expected in text, expected
        assert "\x1b" not in text
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is history


async def test_recheck_settles_an_unknown_attempt_without_sending_a_cancel(
    make_journal_app: AppFactory, root_url: str
) -> None:
    app = make_journal_app(attempts=1, shoplazza={"timeout_s": 0.5})
    # The cancel takes effect, then no answer comes, and the look-up right after it fails too
    # (the look-up before sending still works).
    async with app.run_test(size=SIZE) as pilot:
        service = app.service
        assert service is not None
        fault_once_written_ahead(
            app,
            root_url,
            provider="shoplazza",
            mode="timeout",
            when="after",
            operations=["cancel", "lookup"],
        )
        lookup = await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        await cancel_with(pilot)
        assert final_outcome(lookup).outcome is Outcome.UNKNOWN
        control.clear_faults(root_url)
        (unknown,) = await service.attempts()
        assert unknown.outcome is Outcome.UNKNOWN and unknown.open

        history = await open_history(pilot)
        assert rows(history)[0][3] == "OPEN"
        assert history.check_action("recheck", ()) is True
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        ids = {row[2] for row in app.screen.rows}
        assert {"stopline.history.recheck", "stopline.history.filter"} <= ids
        assert {"stopline.history.detail", "stopline.history.back"} <= ids
        await pilot.press("escape")
        await pilot.pause()

        sent = cancel_calls(root_url)
        assert sent == 1
        await pilot.press("r")
        await settle(pilot)
        assert cancel_calls(root_url) == sent  # it looked; it sent nothing
        settled = await service.attempt(unknown.id)
        assert settled is not None
        assert settled.outcome is Outcome.COMPLETE and settled.confirmed and not settled.open
        assert (rows(history)[0][3], rows(history)[0][6]) == ("COMPLETE", "yes")
        assert history.check_action("recheck", ()) is False
        assert len(await service.attempts()) == 1


async def test_open_and_in_flight_attempts_stand_apart_from_settled_ones(
    make_journal_app: AppFactory,
    journal_store: SqliteStore,
    live_process: subprocess.Popen[bytes],
    root_url: str,
) -> None:
    settled_request = CancelRequest(
        provider="shoplazza",
        order_id=showcase.SHOPLAZZA_FINISHED_ID,
        reason="Customer request",
        operator="carol",
    )
    finished_attempt(
        journal_store,
        settled_request,
        dead_holder("carol"),
        CancelOutcome(
            provider="shoplazza",
            order_id=showcase.SHOPLAZZA_FINISHED_ID,
            outcome=Outcome.REFUSED,
            http_status=406,
        ),
    )
    # Sent by a process that died before the answer: open, holding its order.
    open_id = sent_attempt(
        journal_store,
        CancelRequest(
            provider="ordermesh", order_id=MESH, reason="Duplicate order", operator="dave"
        ),
        dead_holder("dave"),
        lease_until=FAR_LEASE,
    )
    # Claimed by a process that is still running: in flight right now.
    flying_id = claim(
        journal_store,
        CancelRequest(
            provider="shoplazza",
            order_id=showcase.SHOPLAZZA_OPEN_ID,
            reason="Customer request",
            operator="erin",
        ),
        holder_of(live_process.pid, "erin"),
    )
    app = make_journal_app()
    hook = Recorder()
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        history = await open_history(pilot)
        shown = {r[5]: r[3] for r in rows(history)}
        assert shown == {"erin": "IN FLIGHT", "dave": "OPEN", "carol": "REFUSED"}
        status = plain(history.query_one("#history-status").render())
        assert "3 attempts" in status

        # The filter finds them by the word shown.
        history.filter_input.value = "flight"
        await pilot.pause()
        assert [r[5] for r in rows(history)] == ["erin"]
        history.filter_input.value = "open"
        await pilot.pause()
        assert [r[5] for r in rows(history)] == ["dave"]
        history.filter_input.value = ""
        await pilot.pause()

        # The detail says who holds it and that it holds the order.
        assert history.table is not None
        history.table.focus()
        await pilot.pause()
        kept = history.highlighted()
        assert kept is not None and kept.id == open_id  # the filter kept the highlight
        await pilot.press("k")
        flying = history.highlighted()
        assert flying is not None and flying.id == flying_id
        await pilot.press("enter")
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, AttemptDetailScreen)
        text = plain(detail.body_text(), width=120)
        assert "IN FLIGHT" in text and f"pid {live_process.pid}" in text
        assert "sending it now" in text and "OPEN" not in text
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("j", "enter")
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, AttemptDetailScreen) and detail.attempt.id == open_id
        text = plain(detail.body_text(), width=120)
        assert "OPEN" in text and "holds the order" in text and "IN FLIGHT" not in text
        await pilot.press("escape", "k")
        await pilot.pause()

        # r on the one in flight looks at nothing and sends nothing: it is still being sent.
        assert history.check_action("recheck", ()) is True
        await pilot.press("r")
        await settle(pilot)
        (rechecked,) = [m for m in hook.seen if isinstance(m, msg.AttemptRechecked)]
        assert rechecked.attempt_id == flying_id and not rechecked.settled
        assert "still IN FLIGHT" in rechecked.note
        assert control.calls(root_url) == []  # no look-up, no cancel
        assert shown_word(history, "erin") == "IN FLIGHT"
        service = app.service
        assert service is not None
        still = await service.attempt(flying_id)
        assert still is not None and still.state is AttemptState.CLAIMED and still.open
        opened = await service.attempt(open_id)
        assert opened is not None and opened.open


def shown_word(history: HistoryScreen, operator: str) -> str:
    return next(r[3] for r in rows(history) if r[5] == operator)


async def test_an_empty_journal_says_so(make_app: AppFactory) -> None:
    # A service built without a journal keeps a private one: the screen lists it (empty).
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        history = await open_history(pilot)
        assert history.problem is None and history.table is None
        assert "No attempts recorded yet" in plain(history.query_one("#history-note").render())
        assert history.check_action("recheck", ()) is False


async def test_a_journal_that_cannot_be_read_is_named_not_raised(
    make_app: AppFactory, monkeypatch: Any
) -> None:
    from tui.core.journal import JournalError

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        service = app.service
        assert service is not None

        async def broken(*args: Any, **kwargs: Any) -> Any:
            raise JournalError("cannot read the journal at /x/journal.sqlite3: disk I/O error")

        monkeypatch.setattr(service, "attempts", broken)
        history = await open_history(pilot)
        assert history.table is None
        note = plain(history.query_one("#history-note").render())
        assert "Cannot read the journal" in note and "disk I/O error" in note
        assert history.check_action("recheck", ()) is False
