"""Look-up by every identifier kind, not found, errors, and a newer search replacing an older."""

from __future__ import annotations

import pytest
from textual.worker import WorkerState

from tui.sandbox import control, showcase
from tui.widgets.topbar import TopBar

from .conftest import AppFactory
from .helpers import look_up, lookup_screen, plain, strip_text

SIZE = (80, 24)


async def test_first_screen_focuses_search_and_marks_demo(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = lookup_screen(app)
        assert screen.focused is screen.search
        header = plain(app.screen.query_one(TopBar).render_bar())
        assert "DEMO DATA — sandbox" in header
        assert "READ-ONLY" not in header
        assert strip_text(app).count("SANDBOX") == 4


@pytest.mark.parametrize(
    ("identifier", "provider", "order_id", "found_by"),
    [
        (showcase.PATTERN_ALL_CANCELLABLE, "pattern", showcase.PATTERN_ALL_CANCELLABLE, None),
        (showcase.SHOPLAZZA_OPEN_NUMBER, "shoplazza", showcase.SHOPLAZZA_OPEN_ID, None),
        (showcase.RX_CANCELLABLE_TRAY, "rxuniverse", showcase.RX_CANCELLABLE_ORDER, "tray"),
        (showcase.RX_CANCELLABLE_PO, "rxuniverse", showcase.RX_CANCELLABLE_ORDER, "po"),
        (showcase.ORDERMESH_MULTI_ITEM, "ordermesh", showcase.ORDERMESH_MULTI_ITEM, None),
    ],
    ids=["market-order-id", "order-number", "tray", "po-with-slashes", "ordermesh-id"],
)
async def test_lookup_by_identifier_kind(
    make_app: AppFactory, identifier: str, provider: str, order_id: str, found_by: str | None
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await look_up(pilot, identifier, typed=identifier == showcase.RX_CANCELLABLE_PO)
        # enter moved focus to the results, first order highlighted, its lines shown
        assert screen.focused is screen.results
        assert screen.results.cursor_row == 0
        order = screen.highlighted_order()
        assert order is not None
        assert (order.provider, order.order_id) == (provider, order_id)
        if found_by is not None:
            assert order.found_by == found_by
        assert screen.lines.order == order
        assert "found" in strip_text(app)


async def test_j_k_move_between_orders_and_lines_follow(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await look_up(pilot, showcase.ORDERMESH_MULTI_ITEM)
        # Put a second order in the table to move between.
        other = await _second_order(screen)
        screen.orders[f"{other.provider}:{other.order_id}"] = other
        screen._rebuild_results()
        await pilot.pause()
        first = screen.highlighted_order()
        await pilot.press("j")
        await pilot.pause()
        second = screen.highlighted_order()
        assert second is not None and first is not None and second != first
        assert screen.lines.order == second
        await pilot.press("k")
        await pilot.pause()
        assert screen.highlighted_order() == first


async def _second_order(screen):  # type: ignore[no-untyped-def]
    service = screen.stopline.service
    results = await service.lookup_all(showcase.SHOPLAZZA_OPEN_NUMBER)
    return next(o for r in results for o in r.orders)


async def test_lines_show_quantity_status_and_why_not(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await look_up(pilot, showcase.PATTERN_PARTIAL)
        table = screen.lines.table
        assert table is not None
        rows = [table.shown_row(i) for i in range(table.row_count)]
        assert len(rows) == 3
        verdicts = [row[3] for row in rows]
        assert verdicts.count("cancellable") == 2
        (refused,) = [v for v in verdicts if v.startswith("not cancellable: ")]
        # At 80 columns the reason is cut in the table and written out whole under it.
        assert refused.endswith("…")
        notes = plain(screen.lines.query_one("#lines-note").render())
        assert "sub-order 2 — in the warehouse's hands (batched, picked or packed)" in notes
        # Pattern's look-up has no warehouse order ids: the pane says how lines are named.
        assert "sub-orders by position" in notes


async def test_not_found_everywhere(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await look_up(pilot, "999-0000000-0000000")
        assert screen.orders == {}
        assert screen.results.row_count == 0
        text = strip_text(app)
        assert "No provider has an order 999-0000000-0000000" in text
        assert "error" not in text
        await pilot.press("c")
        await pilot.pause()
        assert app.screen is screen  # nothing to cancel: no dialog


async def test_provider_error_is_shown_where_it_happened_and_r_retries(
    make_app: AppFactory, root_url: str
) -> None:
    app = make_app(attempts=1)
    control.add_fault(root_url, provider="shoplazza", mode="error", operations=["lookup"], count=1)
    async with app.run_test(size=SIZE) as pilot:
        screen = await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        text = strip_text(app)
        assert "⚠ error" in text
        assert "Shoplazza:" in text
        assert screen.orders == {} or all(o.provider != "shoplazza" for o in screen.orders.values())
        assert screen.last_failure == "lookup"
        await pilot.press("r")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        order = screen.highlighted_order()
        assert order is not None and order.order_id == showcase.SHOPLAZZA_OPEN_ID
        assert "⚠ error" not in strip_text(app)


async def test_newer_search_cancels_the_one_in_flight(make_app: AppFactory, root_url: str) -> None:
    app = make_app()
    # The first search's Pattern answer is held back long enough to be overtaken.
    control.add_fault(
        root_url, provider="pattern", mode="latency", latency_ms=1500, operations=["lookup"]
    )
    async with app.run_test(size=SIZE) as pilot:
        screen = lookup_screen(app)
        screen.search.value = showcase.PATTERN_ALL_CANCELLABLE
        await pilot.press("enter")
        await pilot.pause()
        first = [w for w in app.workers if w.group == "lookup"]
        assert len(first) == 1 and first[0].state in (WorkerState.PENDING, WorkerState.RUNNING)
        control.clear_faults(root_url)
        await pilot.press("slash")
        screen.search.value = showcase.ORDERMESH_MULTI_ITEM
        await pilot.press("enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert first[0].state is WorkerState.CANCELLED
        assert screen.identifier == showcase.ORDERMESH_MULTI_ITEM
        assert [o.order_id for o in screen.orders.values()] == [showcase.ORDERMESH_MULTI_ITEM]
        assert "waiting" not in strip_text(app)
