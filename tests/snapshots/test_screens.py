"""The main screens as SVG snapshots at 80x24 and 120x40 (``pytest --snapshot-update``
rewrites the baselines in ``__snapshots__/``; review them before committing).

Each test drives the real app with keys against the sandbox, checks it reached the state it
means to show, then compares the frame. Baselines hold no timings, ports or clock text.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from tui.core.domain import CancelOutcome
from tui.core.journal.model import utcnow
from tui.core.lifecycle import Done
from tui.sandbox import control, showcase
from tui.screens.cancel_dialog import CancelDialog
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.screens.lookup import LookupScreen

from .conftest import AppFactory
from .kit import cancel, look_up, screen_lines, settle, steady, until_still

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]

pytestmark = pytest.mark.parametrize("size", SIZES)


def lookup(pilot: Pilot[Any]) -> LookupScreen:
    screen = pilot.app.screen
    assert isinstance(screen, LookupScreen)
    return screen


def sent_outcome(screen: LookupScreen) -> CancelOutcome:
    """The latest cancel's outcome; it must have been sent (the lifecycle ended ``Done``)."""
    final = screen.last_final
    assert isinstance(final, Done), final
    return final.outcome


def text_of(pilot: Pilot[Any]) -> str:
    return "\n".join(screen_lines(pilot.app.export_screenshot()))


def test_empty_lookup_screen(
    snap_compare: Any, make_app: AppFactory, sandbox_netloc: str, size: tuple[int, int]
) -> None:
    async def check(pilot: Pilot[Any]) -> None:
        screen = lookup(pilot)
        assert screen.focused is screen.search
        shown = text_of(pilot)
        assert "DEMO DATA" in shown and shown.count("SANDBOX") == 4

    assert snap_compare(make_app(), terminal_size=size, run_before=steady(sandbox_netloc, check))


def test_lookup_results_with_lines(
    snap_compare: Any, make_app: AppFactory, sandbox_netloc: str, size: tuple[int, int]
) -> None:
    async def steps(pilot: Pilot[Any]) -> None:
        await look_up(pilot, showcase.PATTERN_PARTIAL)
        screen = lookup(pilot)
        order = screen.highlighted_order()
        assert order is not None and order.order_id == showcase.PATTERN_PARTIAL
        assert len(order.lines) == 3 and screen.lines.table is not None

    assert snap_compare(make_app(), terminal_size=size, run_before=steady(sandbox_netloc, steps))


def test_cancel_dialog_with_items(
    snap_compare: Any, make_app: AppFactory, sandbox_netloc: str, size: tuple[int, int]
) -> None:
    async def steps(pilot: Pilot[Any]) -> None:
        await look_up(pilot, showcase.ORDERMESH_MULTI_ITEM)
        await pilot.press("c", "down", "tab", "space")
        await pilot.pause()
        dialog = pilot.app.screen
        assert isinstance(dialog, CancelDialog)
        assert len(dialog.picked()) == 1 and dialog.reason

    assert snap_compare(make_app(), terminal_size=size, run_before=steady(sandbox_netloc, steps))


def test_confirmation(
    snap_compare: Any, make_app: AppFactory, sandbox_netloc: str, size: tuple[int, int]
) -> None:
    async def steps(pilot: Pilot[Any]) -> None:
        await look_up(pilot, showcase.ORDERMESH_MULTI_ITEM)
        await pilot.press("c", "down", "tab", "space", "enter")
        await pilot.pause()
        assert isinstance(pilot.app.screen, ConfirmScreen)

    assert snap_compare(make_app(), terminal_size=size, run_before=steady(sandbox_netloc, steps))


def test_partial_breakdown(
    snap_compare: Any, make_app: AppFactory, sandbox_netloc: str, size: tuple[int, int]
) -> None:
    async def steps(pilot: Pilot[Any]) -> None:
        await look_up(pilot, showcase.PATTERN_PARTIAL)
        await cancel(pilot)
        screen = lookup(pilot)
        outcome = sent_outcome(screen)
        assert outcome.outcome.value == "partial" and outcome.http_status == 206
        assert screen.breakdown.phase == "confirmed"

    assert snap_compare(make_app(), terminal_size=size, run_before=steady(sandbox_netloc, steps))


def test_refused_breakdown(
    snap_compare: Any, make_app: AppFactory, sandbox_netloc: str, size: tuple[int, int]
) -> None:
    async def steps(pilot: Pilot[Any]) -> None:
        # The look-up shows the lab job cancellable; the lab refuses: past a station.
        await look_up(pilot, showcase.RX_AT_NO_CANCEL_STATION)
        await cancel(pilot)
        outcome = sent_outcome(lookup(pilot))
        assert outcome.outcome.value == "refused"

    assert snap_compare(make_app(), terminal_size=size, run_before=steady(sandbox_netloc, steps))


def test_recheck_still_open_breakdown(
    snap_compare: Any,
    make_app: AppFactory,
    sandbox: Any,
    sandbox_netloc: str,
    size: tuple[int, int],
) -> None:
    """``r`` on an unknown cancel whose order a look-up after its window shows untouched."""

    async def steps(pilot: Pilot[Any]) -> None:
        await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        control.add_fault(
            sandbox.root_url, provider="shoplazza", mode="timeout", operations=["cancel"]
        )
        await cancel(pilot)
        screen = lookup(pilot)
        outcome = sent_outcome(screen)
        assert outcome.outcome.value == "unknown" and outcome.attempt_id is not None
        service = pilot.app.service
        attempt = await service.attempt(outcome.attempt_id)
        assert attempt is not None and attempt.lease_until is not None
        while utcnow() <= attempt.lease_until:
            await pilot.pause(0.05)
        control.clear_faults(sandbox.root_url)
        await pilot.press("r")
        await settle(pilot)
        assert screen.breakdown.phase == "rechecked"
        assert screen.breakdown.recheck is not None
        assert screen.breakdown.recheck.verdict.value == "not_applied"
        await until_still(pilot)
        assert "still open — press c to send again" in text_of(pilot)

    app = make_app(attempts=1, shoplazza={"timeout_s": 0.5, "settle_s": 0.1})
    assert snap_compare(app, terminal_size=size, run_before=steady(sandbox_netloc, steps))


def test_read_only(
    snap_compare: Any, make_app: AppFactory, sandbox_netloc: str, size: tuple[int, int]
) -> None:
    async def steps(pilot: Pilot[Any]) -> None:
        await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        await pilot.press("c")
        await pilot.pause()
        screen = lookup(pilot)
        assert screen.highlighted_order() is not None and screen.breakdown.phase == "idle"
        assert "READ-ONLY" in text_of(pilot)

    app = make_app(read_only=True)
    assert snap_compare(app, terminal_size=size, run_before=steady(sandbox_netloc, steps))


def test_help_screen(
    snap_compare: Any, make_app: AppFactory, sandbox_netloc: str, size: tuple[int, int]
) -> None:
    async def steps(pilot: Pilot[Any]) -> None:
        await look_up(pilot, showcase.PATTERN_PARTIAL)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(pilot.app.screen, HelpScreen)

    assert snap_compare(make_app(), terminal_size=size, run_before=steady(sandbox_netloc, steps))


def test_first_screen_after_not_found(
    snap_compare: Any, make_app: AppFactory, sandbox_netloc: str, size: tuple[int, int]
) -> None:
    """Nothing found: the search field keeps focus, the identifier selected to type over;
    the footer says how to get help and out from inside the field."""

    async def steps(pilot: Pilot[Any]) -> None:
        await look_up(pilot, "999-0000000-0000000")
        screen = lookup(pilot)
        assert screen.focused is screen.search and not screen.orders
        assert "No provider has an order" in text_of(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=steady(sandbox_netloc, steps))


def test_order_that_cannot_be_cancelled(
    snap_compare: Any, make_app: AppFactory, sandbox_netloc: str, size: tuple[int, int]
) -> None:
    """Shipped: no c in the footer, and the outcome panel says why."""

    async def steps(pilot: Pilot[Any]) -> None:
        await look_up(pilot, showcase.ORDERMESH_SHIPPED)
        screen = lookup(pilot)
        assert screen.check_action("cancel", ()) is False
        assert "Nothing to cancel" in text_of(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=steady(sandbox_netloc, steps))


def test_cancel_dialog_preset_by_digit_and_its_help(
    snap_compare: Any, make_app: AppFactory, sandbox_netloc: str, size: tuple[int, int]
) -> None:
    """Preset 3 taken by its digit; ? shows the dialog's own keys over it."""

    async def steps(pilot: Pilot[Any]) -> None:
        await look_up(pilot, showcase.PATTERN_PARTIAL)
        await pilot.press("c", "3")
        await pilot.pause()
        dialog = pilot.app.screen
        assert isinstance(dialog, CancelDialog) and dialog.reason == "Fraud"
        await until_still(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(pilot.app.screen, HelpScreen)

    assert snap_compare(make_app(), terminal_size=size, run_before=steady(sandbox_netloc, steps))


def test_quit_asks_with_a_cancel_in_flight(
    snap_compare: Any,
    make_app: AppFactory,
    sandbox: Any,
    sandbox_netloc: str,
    size: tuple[int, int],
) -> None:
    async def steps(pilot: Pilot[Any]) -> None:
        await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        control.add_fault(
            sandbox.root_url,
            provider="shoplazza",
            mode="latency",
            latency_ms=20_000,
            operations=["cancel"],
        )
        await pilot.press("c", "1", "y")
        screen = lookup(pilot)
        for _ in range(200):
            await pilot.pause(0.02)
            if screen.breakdown.phase == "sending" and screen.breakdown.request is not None:
                break
        await pilot.pause(0.3)  # written ahead; its request is out
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(pilot.app.screen, ConfirmScreen)

    async def run_before(pilot: Pilot[Any]) -> None:
        # The cancel stays in flight: no settle() for workers here.
        await pilot.pause()
        await steps(pilot)
        for field in pilot.app.screen_stack[1].query("Input"):
            field.cursor_blink = False
        await until_still(pilot)

    app = make_app()
    try:
        assert snap_compare(app, terminal_size=size, run_before=run_before)
    finally:
        control.clear_faults(sandbox.root_url)


def test_batch_form_after_leaving_the_preview(
    snap_compare: Any, make_app: AppFactory, sandbox_netloc: str, size: tuple[int, int]
) -> None:
    """Back on the form no field has focus: a key pressed next is a key, not a row."""
    from textual import events
    from textual.widgets import Select

    from tui.widgets.reason import ReasonField

    async def steps(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        lookup(pilot).results.focus()
        await pilot.press("b")
        await pilot.pause()
        batch = pilot.app.screen
        pilot.app.post_message(
            events.Paste(f"{showcase.SHOPLAZZA_OPEN_ID}\n{showcase.SHOPLAZZA_FINISHED_ID}\n")
        )
        await pilot.pause()
        batch.query_one("#provider", Select).value = "shoplazza"
        batch.query_one(ReasonField).action_pick(2)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert batch.phase == "preview"
        await pilot.press("escape", "b")
        await pilot.pause()
        assert batch.phase == "form" and batch.focused is None
        assert "b" not in batch.source.text.split()

    assert snap_compare(make_app(), terminal_size=size, run_before=steady(sandbox_netloc, steps))
