"""Cancel flows end to end against the sandbox: whole, items with quantity, partial, refused,
unknown after a timeout and its re-check (applied, or untouched past its window), an order
held by another live attempt, an earlier unknown attempt reconciled instead of re-sent,
asynchronous confirmation, and hostile provider text."""

from __future__ import annotations

import subprocess
from typing import Any

from tui.core.domain import CancelRequest, Outcome
from tui.core.journal import AttemptState, SqliteStore
from tui.core.journal.model import utcnow
from tui.core.lifecycle import Answered, Done, NextStep, NotSent, Sending, Updated, Why
from tui.palette import stopline_commands
from tui.sandbox import control, showcase
from tui.screens.cancel_dialog import CancelDialog
from tui.screens.confirm import ConfirmScreen
from tui.widgets.reason import PresetList

from .conftest import AppFactory
from .helpers import (
    FAR_LEASE,
    Recorder,
    breakdown_text,
    cancel_calls,
    cancel_with,
    claim,
    dead_holder,
    fault_once_written_ahead,
    final_outcome,
    holder_of,
    look_up,
    plain,
    sent_attempt,
    settle,
)

SIZE = (80, 24)


async def test_whole_order_cancel_shopify_style(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        await pilot.press("c")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, CancelDialog)
        # Focus is on the numbered presets; a letter starts free text with itself.
        assert dialog.focused is dialog.query_one(PresetList)
        assert "whole order" in plain(dialog.query_one("#whole").render())
        await pilot.press(*"customer called")
        assert dialog.focused is dialog.query_one("#reason")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        question = plain(app.screen.question)
        assert "633130-00000004" in question and "Shoplazza" in question
        await pilot.press("y")
        await settle(pilot)
        assert final_outcome(screen).outcome is Outcome.COMPLETE
        assert screen.last_request is not None
        assert screen.last_request.reason == "customer called"
        assert "COMPLETE" in breakdown_text(app)
        # The order was looked up again and now shows its new state.
        order = screen.highlighted_order()
        assert order is not None and not order.cancellable


async def test_item_cancel_with_quantity_really_decreases(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await look_up(pilot, showcase.ORDERMESH_MULTI_ITEM)
        before = screen.highlighted_order()
        assert before is not None
        first = before.lines[0]
        assert first.quantity == 3
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("down")  # a preset reason
        await pilot.press("tab")  # to the items
        await pilot.press("space")  # pick the first item: all 3 open
        await pilot.press("minus")  # … but only 2 of them
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, CancelDialog)
        assert dialog.picked() == {first.id: 2}
        assert "cancel 1 item: " in plain(dialog.preview())
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        request = screen.last_request
        assert request is not None and [(i.id, i.quantity) for i in request.items] == [
            (first.id, 2)
        ]
        assert final_outcome(screen).outcome is Outcome.COMPLETE
        # A second look-up, by keys, shows the quantity really went down.
        await look_up(pilot, showcase.ORDERMESH_MULTI_ITEM)
        after = screen.highlighted_order()
        assert after is not None
        line = next(ln for ln in after.lines if ln.id == first.id)
        assert line.quantity == 1
        rows = [screen.lines.table.get_row_at(i) for i in range(3)]
        assert any(row[0] == first.id and row[1] == "1" for row in rows)


async def test_select_all_and_none(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await look_up(pilot, showcase.ORDERMESH_MULTI_ITEM)
        await pilot.press("c", "tab", "a")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, CancelDialog)
        assert len(dialog.picked()) == 3
        await pilot.press("n")
        await pilot.pause()
        assert dialog.picked() == {}
        assert "the whole order" in plain(dialog.preview())


async def test_partial_206_breakdown(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await look_up(pilot, showcase.PATTERN_PARTIAL)
        await cancel_with(pilot)
        outcome = final_outcome(screen)
        assert outcome.outcome is Outcome.PARTIAL and outcome.http_status == 206
        text = breakdown_text(app)
        assert "PARTIAL" in text and "HTTP 206" in text
        assert "✘ not cancelled" in text
        assert text.count("✔ cancelled") == len(outcome.cancelled) >= 1


async def test_refused_is_said_in_words(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        # The look-up shows the lab job cancellable; the lab refuses: it is past a station.
        screen = await look_up(pilot, showcase.RX_AT_NO_CANCEL_STATION)
        await cancel_with(pilot)
        assert final_outcome(screen).outcome is Outcome.REFUSED
        text = breakdown_text(app)
        assert "REFUSED" in text and "cancelled nothing" in text
        # A refusal is an answer, not a failure: r has nothing to retry or re-check.
        assert screen.last_failure is None
        assert screen.cancel_step() is NextStep.NONE


async def test_an_order_that_cannot_be_cancelled_gets_no_c_and_says_why(
    make_app: AppFactory, root_url: str
) -> None:
    """Shipped, finished or with no line left: c is not offered (footer, help, palette),
    pressing it opens nothing and sends nothing, and the outcome panel says why."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for identifier in (
            showcase.ORDERMESH_SHIPPED,
            showcase.SHOPLAZZA_FINISHED_NUMBER,
            showcase.PATTERN_NONE,
        ):
            screen = await look_up(pilot, identifier)
            order = screen.highlighted_order()
            assert order is not None and not order.can_cancel
            assert screen.check_action("cancel", ()) is False
            assert "stopline.cancel" not in {
                a.binding.id for a in screen.active_bindings.values()
            }
            assert "Cancel order" not in [name for name, _, _ in stopline_commands(app)]
            assert "Nothing to cancel: " in breakdown_text(app)
            await pilot.press("c")
            await pilot.pause()
            assert app.screen is screen
        assert cancel_calls(root_url) == 0
        # An order that can be cancelled gets c back.
        await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        assert screen.check_action("cancel", ()) is True
        assert "press c to cancel" in breakdown_text(app)


async def test_the_dialog_and_its_question_count_truly(make_app: AppFactory) -> None:
    """Pattern cancels whole orders: of 3 sub-orders 2 can be cancelled, and both the
    dialog and its question say so — never "all 3"."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await look_up(pilot, showcase.PATTERN_PARTIAL)
        await pilot.press("c")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, CancelDialog)
        preview = plain(dialog.preview())
        assert "the whole order: the 2 lines of 3 that can still be cancelled" in preview
        assert "not cancellable: sub-order 2" in preview
        assert "(s)" not in preview
        await pilot.press("1", "enter")
        await pilot.pause()
        question = app.screen
        assert isinstance(question, ConfirmScreen)
        words = plain(question.question)
        assert "the 2 lines of 3 that can still be cancelled" in words
        assert "all 3" not in words and "(s)" not in words
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("escape")


async def test_rx_reason_codes_are_the_presets_and_required(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await look_up(pilot, showcase.RX_CANCELLABLE_TRAY)
        await pilot.press("c")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, CancelDialog)
        # Free text that names no lab code is not enough here.
        await pilot.press(*"oops", "enter")
        await pilot.pause()
        assert app.screen is dialog
        assert "reason codes" in plain(dialog.query_one("#problem").render())
        await pilot.press("down")
        await pilot.pause()
        assert dialog.query_one("#reason").value == "Customer request"
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert screen.last_request is not None and screen.last_request.reason_code == "1"
        assert final_outcome(screen).outcome is Outcome.COMPLETE


async def test_unknown_after_timeout_then_r_rechecks_without_resending(
    make_app: AppFactory, root_url: str
) -> None:
    app = make_app(attempts=1, shoplazza={"timeout_s": 0.5})
    # The cancel takes effect, then no answer comes, and the look-up right after it cannot
    # see either. (The look-up before sending still works: it is written ahead with it.)
    hook = Recorder()
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
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
        screen = await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        await cancel_with(pilot)
        outcome = final_outcome(screen)
        assert outcome.outcome is Outcome.UNKNOWN and outcome.attempt_id is not None
        text = breakdown_text(app)
        assert "UNKNOWN" in text and "may have taken effect" in text
        assert screen.cancel_step() is NextStep.RECHECK
        assert screen.check_action("retry", ()) is True
        assert len(hook.events(Sending)) == 1 and cancel_calls(root_url) == 1
        unknown = await service.attempt(outcome.attempt_id)
        assert unknown is not None and unknown.open and unknown.outcome is Outcome.UNKNOWN

        control.clear_faults(root_url)
        await pilot.press("r")
        await settle(pilot)
        # r looked the order up: it was cancelled after all; nothing was sent again.
        assert cancel_calls(root_url) == 1 and len(hook.events(Sending)) == 1
        assert screen.breakdown.phase == "rechecked"
        settled = final_outcome(screen)
        assert settled.outcome is Outcome.COMPLETE and settled.confirmed
        assert screen.cancel_step() is NextStep.NONE
        text = breakdown_text(app)
        assert "COMPLETE" in text and "re-check:" in text and "may have taken effect" not in text
        # The journal's row is settled the same way and no longer holds the order.
        row = await service.attempt(outcome.attempt_id)
        assert row is not None
        assert (row.state, row.outcome, row.confirmed, row.open) == (
            AttemptState.FINISHED,
            Outcome.COMPLETE,
            True,
            False,
        )
        assert [a.id for a in await service.attempts()] == [row.id]


async def test_r_on_an_unknown_left_untouched_past_its_window_closes_it_as_not_applied(
    make_app: AppFactory, root_url: str
) -> None:
    app = make_app(attempts=1, shoplazza={"timeout_s": 0.5, "settle_s": 0.2})
    async with app.run_test(size=SIZE) as pilot:
        service = app.service
        assert service is not None
        screen = await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        # The cancel never reaches the order, and no answer comes back.
        control.add_fault(root_url, provider="shoplazza", mode="timeout", operations=["cancel"])
        await cancel_with(pilot)
        outcome = final_outcome(screen)
        assert outcome.outcome is Outcome.UNKNOWN and outcome.attempt_id is not None
        # Inside its window an untouched order proves nothing: it stays unknown and open.
        assert "may have taken effect" in breakdown_text(app)
        unknown = await service.attempt(outcome.attempt_id)
        assert unknown is not None and unknown.open and unknown.lease_until is not None
        while utcnow() <= unknown.lease_until:
            await pilot.pause(0.05)

        control.clear_faults(root_url)
        await pilot.press("r")
        await settle(pilot)
        assert cancel_calls(root_url) == 1  # r looked; it sent nothing
        text = breakdown_text(app)
        assert "still open — press c to send again" in text
        assert "ERROR" in text
        row = await service.attempt(outcome.attempt_id)
        assert row is not None
        assert (row.state, row.outcome, row.confirmed, row.open) == (
            AttemptState.FINISHED,
            Outcome.ERROR,
            False,
            False,
        )
        assert screen.cancel_step() is NextStep.RETRY
        # The order was looked up again, still open: c sends the cancel anew, and it applies.
        order = screen.highlighted_order()
        assert order is not None and order.cancellable and not order.cancelled
        await cancel_with(pilot)
        again = final_outcome(screen)
        assert again.outcome is Outcome.COMPLETE and again.attempt_id != outcome.attempt_id
        assert cancel_calls(root_url) == 2


async def test_an_order_held_by_another_live_attempt_is_not_sent(
    make_journal_app: AppFactory,
    journal_store: SqliteStore,
    live_process: subprocess.Popen[bytes],
    root_url: str,
) -> None:
    # Another Stopline process, alive on this host, has claimed the order and is sending.
    theirs = CancelRequest(
        provider="shoplazza",
        order_id=showcase.SHOPLAZZA_OPEN_ID,
        reason="duplicate import",
        operator="ops-bob",
    )
    holder_id = claim(journal_store, theirs, holder_of(live_process.pid, "ops-bob"))
    app = make_journal_app()
    async with app.run_test(size=SIZE) as pilot:
        service = app.service
        assert service is not None
        screen = await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        # The floor says who is sending it: c is not offered, and says why.
        await settle(pilot)
        blocker = screen.cancel_blocker() or ""
        assert "ops-bob is cancelling it now" in blocker
        assert not screen.check_action("cancel", ())
        await pilot.press("c")
        await pilot.pause()
        assert not isinstance(app.screen, CancelDialog)
        # Had the console not heard yet (a race), the lifecycle itself refuses: not sent.
        screen.send_cancel(theirs.model_copy(update={"operator": ""}))
        await settle(pilot)
        final = screen.last_final
        assert isinstance(final, NotSent) and final.why is Why.HELD
        assert final.attempt is not None and final.attempt.id == holder_id
        assert screen.breakdown.phase == "not_sent"
        text = breakdown_text(app)
        assert "NOT SENT" in text and "nothing was sent" in text
        assert f"attempt #{holder_id} by ops-bob" in text and f"pid {live_process.pid}" in text
        assert "r tries again" in text
        assert cancel_calls(root_url) == 0
        held = await service.attempt(holder_id)
        assert held is not None and held.state is AttemptState.CLAIMED and held.open
        assert await service.open_attempt("shoplazza", showcase.SHOPLAZZA_OPEN_ID) == held

        # Its process ends without sending anything: r asks, then takes the dead claim over.
        live_process.kill()
        live_process.wait(timeout=10)
        assert screen.cancel_step() is NextStep.RETRY
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert final_outcome(screen).outcome is Outcome.COMPLETE
        assert cancel_calls(root_url) == 1
        gone = await service.attempt(holder_id)
        assert gone is not None and gone.state is AttemptState.WITHDRAWN and not gone.open


async def test_an_earlier_unknown_attempt_is_reconciled_not_resent(
    make_journal_app: AppFactory, journal_store: SqliteStore, root_url: str
) -> None:
    app = make_journal_app()
    async with app.run_test(size=SIZE) as pilot:
        service = app.service
        assert service is not None
        screen = await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        before = screen.highlighted_order()
        assert before is not None and before.order_id == showcase.SHOPLAZZA_OPEN_ID
        # Another console sent a cancel of it and was killed before the answer came; the
        # request may still take effect for a long while yet.
        earlier_id = sent_attempt(
            journal_store,
            CancelRequest(
                provider="shoplazza",
                order_id=before.order_id,
                reason="duplicate import",
                operator="ops-bob",
            ),
            dead_holder("ops-bob"),
            lease_until=FAR_LEASE,
            before=before,
        )
        await cancel_with(pilot)
        final = screen.last_final
        assert isinstance(final, NotSent) and final.why is Why.EARLIER_UNKNOWN
        assert final.attempt is not None and final.attempt.id == earlier_id
        text = breakdown_text(app)
        assert "NOT SENT" in text and "r re-checks that attempt by look-up" in text
        assert cancel_calls(root_url) == 0
        assert screen.cancel_step() is NextStep.RECHECK

        # Still untouched: r says so and leaves it open (nothing sent).
        await pilot.press("r")
        await settle(pilot)
        assert screen.breakdown.phase == "rechecked"
        assert "r re-checks again" in breakdown_text(app)
        still = await service.attempt(earlier_id)
        assert still is not None and still.open and still.outcome is Outcome.UNKNOWN
        assert screen.cancel_step() is NextStep.RECHECK

        # The earlier request takes effect after all: r sees it, and settles that attempt.
        assert (await service.providers["shoplazza"].cancel(final.attempt.as_request())).outcome
        assert cancel_calls(root_url) == 1
        await pilot.press("r")
        await settle(pilot)
        settled = await service.attempt(earlier_id)
        assert settled is not None and not settled.open
        assert settled.outcome is Outcome.COMPLETE and settled.confirmed
        assert final_outcome(screen).outcome is Outcome.COMPLETE
        assert screen.cancel_step() is NextStep.NONE
        assert cancel_calls(root_url) == 1  # the console itself never sent one
        assert [a.id for a in await service.attempts()] == [earlier_id]


async def test_async_confirmation_reaches_confirmed(make_app: AppFactory) -> None:
    app = make_app()
    hook = Recorder()
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        screen = await look_up(pilot, showcase.PATTERN_ALL_CANCELLABLE)
        await cancel_with(pilot)
        (answered,) = hook.events(Answered)
        assert answered.outcome.outcome is Outcome.COMPLETE
        assert not answered.outcome.confirmed and answered.confirming  # Pattern only initiates
        updates = hook.events(Updated)
        assert updates and updates[-1].outcome.confirmed
        (done,) = hook.events(Done)
        assert done.outcome.outcome is Outcome.COMPLETE and done.outcome.confirmed
        assert screen.last_final is done
        assert screen.breakdown.phase == "confirmed"
        text = breakdown_text(app)
        assert "COMPLETE" in text and "confirmed" in text


async def test_async_confirmation_panel_says_initiated_while_checking(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await look_up(pilot, showcase.PATTERN_ALL_CANCELLABLE)
        await pilot.press("c", "down", "enter")
        await pilot.pause()
        await pilot.press("y")
        for _ in range(100):
            await pilot.pause(0.02)
            if screen.breakdown.phase == "confirming":
                break
        assert screen.breakdown.phase == "confirming"
        assert "initiated" in breakdown_text(app)
        await settle(pilot)
        assert screen.breakdown.phase == "confirmed"


async def test_hostile_provider_text_shows_literally(make_app: AppFactory) -> None:
    app = make_app()
    # Wide enough for every column whole (at 80 columns the sku is cut short).
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await look_up(pilot, showcase.HOSTILE_TEXT_ORDER)
        table = screen.lines.table
        assert table is not None
        cells = " ".join(
            str(cell)
            for i in range(table.row_count)
            for cell in table.get_row_at(i)
        )
        assert "[bold red]x[/]" in cells
        assert "\x1b" not in cells and "\x07" not in cells
        # What the table draws on screen is the literal text too (sku is the last column).
        table.scroll_to(x=table.max_scroll_x, animate=False)
        await pilot.pause()
        drawn = "\n".join(table.render_line(y).text for y in range(table.size.height))
        assert "SKU-[bold red]x[/] seal" in drawn
        # Nothing in it can be cancelled, so c is not offered; the hostile cancel answer
        # (the sandbox refuses it) is sent as the screen would send it.
        assert screen.check_action("cancel", ()) is False
        screen.send_cancel(
            CancelRequest(
                provider="pattern", order_id=showcase.HOSTILE_TEXT_ORDER, reason="hostile"
            )
        )
        await settle(pilot)
        assert final_outcome(screen).outcome is Outcome.REFUSED
        text = breakdown_text(app)
        assert "[/]" in text
        assert "\x1b" not in text
        assert "REFUSED" in text
        # Rendering the whole screen (markup in every widget) does not crash.
        app.save_screenshot(filename="hostile.svg", path=str(_tmp(app)))


def _tmp(app: Any) -> Any:
    import tempfile

    return tempfile.mkdtemp(prefix="stopline-hostile-")
