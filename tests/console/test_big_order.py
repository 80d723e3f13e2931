"""A big order in the cancel dialog stays instant because of how the work is shaped, not
because a machine is fast (bench/dialog.py has the timings): the review reads the picked
items once, the preview names a few picked items and counts the rest, and what the preview
says about the order itself is worked out once, not on every toggle."""

from __future__ import annotations

from textual.app import App

from tui.core.domain import Line, Order
from tui.host import CancelContext
from tui.screens.cancel_dialog import PREVIEW_ITEMS, CancelDialog
from tui.screens.confirm import ConfirmScreen

from .helpers import plain

LINES = 2_000


def big_order(lines: int = LINES) -> Order:
    return Order(
        provider="ordermesh",
        order_id="670e58fe7741035996cf7d20",
        status="open",
        lines=tuple(
            Line(
                id=f"ITEM-{n:05d}",
                quantity=2,
                status="open" if n % 10 else "shipped",
                cancellable=bool(n % 10),
                not_cancellable_reason=None if n % 10 else "shipped",
            )
            for n in range(lines)
        ),
    )


CONTEXT = CancelContext(label="OrderMesh", environment="sandbox", supports_item_cancel=True)


async def test_review_reads_the_picked_items_once_whatever_the_order_size() -> None:
    app: App[None] = App()
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = CancelDialog(big_order(), CONTEXT)
        await app.push_screen(dialog)
        await pilot.pause()
        dialog.query_one("#reason").value = "Customer request"  # type: ignore[attr-defined]
        dialog.query_one("#items").focus()
        await pilot.press("a")
        calls = 0
        picked = dialog.picked

        def counted() -> dict[str, int | None]:
            nonlocal calls
            calls += 1
            return picked()

        dialog.picked = counted  # type: ignore[method-assign]
        request = dialog.build_request()
        assert calls == 1
        cancellable = [line.id for line in dialog.order.lines if line.cancellable]
        assert [item.id for item in request.items] == cancellable  # in the order's order
        assert all(item.quantity is None for item in request.items)  # all of each: no qty
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        question = plain(app.screen.question)
        assert f"{len(cancellable):,} items: " in question
        assert f"… and {len(cancellable) - PREVIEW_ITEMS:,} more" in question


async def test_the_preview_names_a_few_items_and_keeps_the_orders_notes() -> None:
    app: App[None] = App()
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = CancelDialog(big_order(), CONTEXT)
        await app.push_screen(dialog)
        await pilot.pause()
        notes = dialog._order_notes()
        dialog.query_one("#items").focus()
        await pilot.press("a")
        await pilot.press("down", "space", "space", "n", "space")
        await pilot.pause()
        # The order's own notes (lines that cannot be cancelled…) were not rebuilt.
        assert dialog._order_notes() is notes
        assert "… and 196 more not cancellable" in plain(notes)
        await pilot.press("a")
        await pilot.pause()
        shown = plain(dialog.query_one("#preview").render())
        total = sum(1 for line in dialog.order.lines if line.cancellable)
        assert f"{total:,} items: " in shown
        assert shown.count("ITEM-") == PREVIEW_ITEMS + 4  # named picks + 4 not cancellable
        assert f"… and {total - PREVIEW_ITEMS:,} more" in shown
