"""The history screen against the sandbox: a console cancel shows up, ``/`` narrows, ``enter``
shows everything recorded, and ``r`` settles an unknown attempt by looking, never by sending."""

from __future__ import annotations

from typing import Any

from tui.app import StoplineApp
from tui.core.domain import (
    CancelledLine,
    CancelOutcome,
    CancelRequest,
    ItemSelection,
    NotCancelledLine,
    Outcome,
)
from tui.core.journal import Journal
from tui.sandbox import control, showcase
from tui.screens.help import HelpScreen
from tui.screens.history import AttemptDetailScreen, HistoryScreen

from .conftest import AppFactory
from .helpers import cancel_with, look_up, lookup_screen, plain, settle

SIZE = (80, 24)
MESH = showcase.ORDERMESH_MULTI_ITEM


def journal_of(app: StoplineApp) -> Journal:
    service = app._given_service
    assert service is not None and isinstance(service.journal, Journal)
    return service.journal


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


def seed(journal: Journal) -> None:
    """Three attempts, oldest first: complete (alice), partial (bob), unknown (alice)."""
    first = journal.begin(
        CancelRequest(
            provider="shoplazza",
            order_id=showcase.SHOPLAZZA_OPEN_ID,
            reason="Customer request",
            operator="alice",
        )
    )
    journal.finish(
        first,
        CancelOutcome(
            provider="shoplazza",
            order_id=showcase.SHOPLAZZA_OPEN_ID,
            outcome=Outcome.COMPLETE,
            http_status=200,
            confirmed=True,
        ),
        20.0,
    )
    second = journal.begin(
        CancelRequest(
            provider="ordermesh",
            order_id=MESH,
            reason="Duplicate order",
            items=(ItemSelection(id="ITEM-A", quantity=2), ItemSelection(id="ITEM-B")),
            operator="bob",
        )
    )
    journal.finish(
        second,
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
        12.4,
    )
    journal.begin(
        CancelRequest(
            provider="pattern",
            order_id=showcase.PATTERN_PARTIAL,
            reason="Inventory / stock-out",
            operator="alice",
        )
    )


async def test_a_cancel_made_in_the_console_is_listed(make_journal_app: AppFactory) -> None:
    app = make_journal_app()
    async with app.run_test(size=SIZE) as pilot:
        lookup = await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        await cancel_with(pilot)
        assert lookup.last_outcome is not None
        assert lookup.last_outcome.outcome is Outcome.COMPLETE
        history = await open_history(pilot)
        shown = rows(history)
        assert len(shown) == 1
        _time, operator, provider, order, outcome, confirmed, http, reason = shown[0]
        assert (operator, provider, order) == ("test-operator", "shoplazza", "633130-00000004")
        assert (outcome, confirmed, http) == ("COMPLETE", "yes", "200")
        assert reason == "Customer request"
        assert "1 attempt," in plain(history.query_one("#history-status").render())
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is lookup


async def test_filter_narrows_and_escape_backs_out(make_journal_app: AppFactory) -> None:
    app = make_journal_app()
    seed(journal_of(app))
    async with app.run_test(size=SIZE) as pilot:
        history = await open_history(pilot)
        assert [r[3] for r in rows(history)] == [
            showcase.PATTERN_PARTIAL,  # newest first
            MESH,
            showcase.SHOPLAZZA_OPEN_ID,
        ]
        assert rows(history)[0][4] == "UNKNOWN"
        assert "1 unknown" in plain(history.query_one("#history-status").render())
        await pilot.press("slash")
        assert history.focused is history.filter_input
        await pilot.press(*"alice")
        await pilot.pause()
        assert [r[3] for r in rows(history)] == [
            showcase.PATTERN_PARTIAL,
            showcase.SHOPLAZZA_OPEN_ID,
        ]
        await pilot.press(*" unknown")
        await pilot.pause()
        assert [r[3] for r in rows(history)] == [showcase.PATTERN_PARTIAL]
        assert "1 of 3 attempts match" in plain(history.query_one("#history-status").render())
        history.filter_input.value = "orderm"  # by provider name
        await pilot.pause()
        assert [r[3] for r in rows(history)] == [MESH]
        history.filter_input.value = "nothing-like-this"
        await pilot.pause()
        assert rows(history) == []
        assert "No attempts match" in plain(history.query_one("#history-note").render())
        await pilot.press("escape")  # clears the filter
        await pilot.pause()
        assert history.filter_input.value == ""
        assert len(rows(history)) == 3
        await pilot.press("escape")  # to the table
        await pilot.pause()
        assert history.focused is history.table
        await pilot.press("escape")  # back to the lookup screen
        await pilot.pause()
        assert app.screen is lookup_screen(app)


async def test_enter_shows_the_full_detail_literally(make_journal_app: AppFactory) -> None:
    app = make_journal_app()
    seed(journal_of(app))
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
    async with app.run_test(size=SIZE) as pilot:
        lookup = await look_up(pilot, showcase.SHOPLAZZA_OPEN_NUMBER)
        # The cancel takes effect, then no answer comes, and the look-up after it fails too.
        control.add_fault(
            root_url,
            provider="shoplazza",
            mode="timeout",
            when="after",
            operations=["cancel", "lookup"],
        )
        await cancel_with(pilot)
        assert lookup.last_outcome is not None
        assert lookup.last_outcome.outcome is Outcome.UNKNOWN
        control.clear_faults(root_url)
        journal = journal_of(app)
        (unknown,) = journal.attempts()
        assert unknown.outcome is Outcome.UNKNOWN

        history = await open_history(pilot)
        assert rows(history)[0][4] == "UNKNOWN"
        assert history.check_action("recheck", ()) is True
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        ids = {row[2] for row in app.screen.rows}
        assert {"stopline.history.recheck", "stopline.history.filter"} <= ids
        assert {"stopline.history.detail", "stopline.history.back"} <= ids
        await pilot.press("escape")
        await pilot.pause()

        assert app.service is not None
        provider = app.service.providers["shoplazza"]
        cancels: list[Any] = []
        real_cancel = provider.cancel

        async def counting_cancel(*args: Any, **kwargs: Any) -> Any:
            cancels.append(args)
            return await real_cancel(*args, **kwargs)

        provider.cancel = counting_cancel  # type: ignore[method-assign]
        await pilot.press("r")
        await settle(pilot)
        assert cancels == []
        settled = journal.get(unknown.id)
        assert settled is not None
        assert settled.outcome is Outcome.COMPLETE and settled.confirmed
        assert rows(history)[0][4:6] == ["COMPLETE", "yes"]
        assert history.check_action("recheck", ()) is False
        assert len(journal.attempts()) == 1


async def test_without_a_journal_the_screen_says_so(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        history = await open_history(pilot)
        assert history.table is None
        assert "no journal" in plain(history.query_one("#history-note").render())
        assert history.check_action("recheck", ()) is False
