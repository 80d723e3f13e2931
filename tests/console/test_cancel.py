"""Cancel flows end to end against the sandbox: whole, items with quantity, partial, refused,
unknown after a timeout, asynchronous confirmation, and hostile provider text."""

from __future__ import annotations

from typing import Any

from textual.message import Message

from tui import messages as msg
from tui.core.domain import Outcome
from tui.sandbox import control, showcase
from tui.screens.cancel_dialog import CancelDialog
from tui.screens.confirm import ConfirmScreen

from .conftest import AppFactory
from .helpers import breakdown_text, cancel_with, look_up, plain, settle

SIZE = (80, 24)


async def test_whole_order_cancel_shopify_style(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        await pilot.press("c")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, CancelDialog)
        assert dialog.focused is dialog.query_one("#reason")
        assert "whole order" in plain(dialog.query_one("#whole").render())
        await pilot.press(*"customer called")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        question = plain(app.screen.question)
        assert "633130-00000004" in question and "Shoplazza" in question
        await pilot.press("y")
        await settle(pilot)
        assert screen.last_outcome is not None
        assert screen.last_outcome.outcome is Outcome.COMPLETE
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
        assert "1 item(s)" in plain(dialog.preview())
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        request = screen.last_request
        assert request is not None and [(i.id, i.quantity) for i in request.items] == [
            (first.id, 2)
        ]
        assert screen.last_outcome is not None
        assert screen.last_outcome.outcome is Outcome.COMPLETE
        # A second look-up, by keys, shows the quantity really went down.
        await look_up(pilot, showcase.ORDERMESH_MULTI_ITEM)
        after = screen.highlighted_order()
        assert after is not None
        line = next(ln for ln in after.lines if ln.id == first.id)
        assert line.quantity == 1
        rows = [screen.lines.table.backend.get_row_at(i) for i in range(3)]
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
        outcome = screen.last_outcome
        assert outcome is not None
        assert outcome.outcome is Outcome.PARTIAL and outcome.http_status == 206
        text = breakdown_text(app)
        assert "PARTIAL" in text and "HTTP 206" in text
        assert "✘ not cancelled" in text
        assert text.count("✔ cancelled") == len(outcome.cancelled) >= 1


async def test_refused_is_said_in_words(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await look_up(pilot, showcase.SHOPLAZZA_FINISHED_NUMBER)
        await cancel_with(pilot)
        assert screen.last_outcome is not None
        assert screen.last_outcome.outcome is Outcome.REFUSED
        text = breakdown_text(app)
        assert "REFUSED" in text and "cancelled nothing" in text
        assert screen.last_failure is None  # a refusal is an answer, not a failure


async def test_refused_ordermesh_preview_names_what_cannot_be_cancelled(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await look_up(pilot, showcase.ORDERMESH_SHIPPED)
        await pilot.press("c")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, CancelDialog)
        assert "not cancellable" in plain(dialog.preview())
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
        assert screen.last_outcome is not None
        assert screen.last_outcome.outcome is Outcome.COMPLETE


async def test_unknown_after_timeout_then_r_rechecks_without_resending(
    make_app: AppFactory, root_url: str
) -> None:
    app = make_app(attempts=1, shoplazza={"timeout_s": 0.5})
    seen: list[Message] = []
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        screen = await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        # The cancel takes effect, then no answer comes; the re-check cannot see either.
        control.add_fault(
            root_url,
            provider="shoplazza",
            mode="timeout",
            when="after",
            operations=["cancel", "lookup"],
        )
        await cancel_with(pilot)
        outcome = screen.last_outcome
        assert outcome is not None and outcome.outcome is Outcome.UNKNOWN
        text = breakdown_text(app)
        assert "UNKNOWN" in text and "may have taken effect" in text
        assert screen.last_failure == "cancel"
        sends = len({id(m) for m in seen if isinstance(m, msg.CancelSent)})
        assert sends == 1
        control.clear_faults(root_url)
        await pilot.press("r")
        await settle(pilot)
        # r looked the order up: it was cancelled after all; nothing was sent again.
        assert len({id(m) for m in seen if isinstance(m, msg.CancelSent)}) == sends
        assert screen.last_outcome is not None
        assert screen.last_outcome.outcome is Outcome.COMPLETE
        assert screen.last_outcome.confirmed
        assert screen.last_failure is None


async def test_async_confirmation_reaches_confirmed(make_app: AppFactory) -> None:
    app = make_app()
    seen: list[Message] = []
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        screen = await look_up(pilot, showcase.PATTERN_ALL_CANCELLABLE)
        await cancel_with(pilot)
        answered = [m for m in seen if isinstance(m, msg.CancelAnswered)]
        assert answered and answered[0].outcome.outcome is Outcome.COMPLETE
        assert not answered[0].outcome.confirmed  # Pattern only initiates
        updates = [m for m in seen if isinstance(m, msg.ConfirmationUpdate)]
        assert updates and updates[-1].final and updates[-1].outcome.confirmed
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
    async with app.run_test(size=SIZE) as pilot:
        screen = await look_up(pilot, showcase.HOSTILE_TEXT_ORDER)
        table = screen.lines.table
        assert table is not None
        cells = " ".join(
            str(cell)
            for i in range(table.backend.row_count)
            for cell in table.backend.get_row_at(i)
        )
        assert "[bold red]x[/]" in cells
        assert "\x1b" not in cells and "\x07" not in cells
        # What the table draws on screen is the literal text too (sku is the last column).
        table.scroll_to(x=table.max_scroll_x, animate=False)
        await pilot.pause()
        drawn = "\n".join(table.render_line(y).text for y in range(table.size.height))
        assert "SKU-[bold red]x[/] seal" in drawn
        await cancel_with(pilot)
        assert screen.last_outcome is not None
        text = breakdown_text(app)
        assert "[/]" in text
        assert "\x1b" not in text
        assert "REFUSED" in text
        # Rendering the whole screen (markup in every widget) does not crash.
        app.save_screenshot(filename="hostile.svg", path=str(_tmp(app)))


def _tmp(app: Any) -> Any:
    import tempfile

    return tempfile.mkdtemp(prefix="stopline-hostile-")
