"""The history screen on a big journal opens like on an empty one because of how it reads,
not because the machine is fast (bench/history.py has the timings): it shows the newest page
first and reads the rest in pages after, makes a row's cells only when the row is drawn, and
the filter's text only when a filter is typed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from textual.widgets._footer import FooterKey

from tui import messages as msg
from tui.core.domain import CancelOutcome, CancelRequest, Order, Outcome
from tui.core.journal import Holder, SqliteStore
from tui.screens import history as history_screen
from tui.screens.history import FIRST_PAGE, HistoryScreen

from .conftest import AppFactory
from .helpers import lookup_screen, plain, settle

ATTEMPTS = 2_345


def seed(store: SqliteStore, count: int) -> None:
    holder = Holder(operator="ops-anna", host="elsewhere", pid=1, pid_started=1.0)
    lease = datetime.now(UTC) - timedelta(minutes=1)
    for n in range(count):
        order_id = f"MO-{n:05d}"
        request = CancelRequest(provider="pattern", order_id=order_id, reason="stock-out")
        claim = store.claim(request, holder, lease_until=lease, take_over=lambda _: False)
        assert claim.attempt_id is not None
        store.mark_sent(
            claim.attempt_id, Order(provider="pattern", order_id=order_id), lease_until=lease
        )
        store.finish(
            claim.attempt_id,
            CancelOutcome(
                provider="pattern",
                order_id=order_id,
                outcome=Outcome.REFUSED if n == 7 else Outcome.COMPLETE,
            ),
            1.0,
        )


async def open_history_counting_pages(
    app: Any, pilot: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[HistoryScreen, list[tuple[int | None, int | None]]]:
    """``h`` from the lookup screen, every page read counted as (limit, id of the attempt it
    follows); returns once the screen has settled."""
    service = app.service
    assert service is not None
    pages: list[tuple[int | None, int | None]] = []
    real_attempts = service.attempts

    async def paged(*args: Any, **kwargs: Any) -> Any:
        after = kwargs.get("after")
        pages.append((kwargs.get("limit"), after.id if after is not None else None))
        return await real_attempts(*args, **kwargs)

    monkeypatch.setattr(service, "attempts", paged)
    lookup_screen(app).results.focus()
    await pilot.press("h")
    await settle(pilot)
    history = app.screen
    assert isinstance(history, HistoryScreen)
    return history, pages


async def test_the_newest_page_first_then_the_rest_and_cells_only_for_what_is_seen(
    make_journal_app: AppFactory, journal_store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(journal_store, ATTEMPTS)
    made: list[int] = []
    real_cells = history_screen.attempt_cells

    def counted(attempt: Any, in_flight: bool = False) -> list[str]:
        made.append(attempt.id)
        return real_cells(attempt, in_flight)

    monkeypatch.setattr(history_screen, "attempt_cells", counted)
    stacks: list[int] = []
    real_haystack = history_screen.haystack

    def counted_haystack(attempt: Any, in_flight: bool = False) -> str:
        stacks.append(attempt.id)
        return real_haystack(attempt, in_flight)

    monkeypatch.setattr(history_screen, "haystack", counted_haystack)
    app = make_journal_app()
    async with app.run_test(size=(80, 24)) as pilot:
        history, pages = await open_history_counting_pages(app, pilot, monkeypatch)
        assert pages[0] == (FIRST_PAGE, None)  # the newest page alone before showing
        assert all(after is not None for _, after in pages[1:])  # then page after page
        assert len(history.attempts) == ATTEMPTS and history.complete
        assert f"{ATTEMPTS} attempts" in plain(history.query_one("#history-status").render())
        # Only the rows drawn had their cells made; no filter text was made.
        assert 0 < len(set(made)) <= 30
        assert stacks == []
        await pilot.press("end")
        await pilot.pause()
        assert history.highlighted() is history.attempts[-1]
        assert len(set(made)) <= 60  # the last screenful, not everything in between
        history.filter_input.value = "refused"
        await pilot.pause()
        assert len(stacks) == ATTEMPTS  # made once, for the filter
        assert [history.attempts[i].order_id for i in history.shown_rows] == ["MO-00007"]


async def test_the_first_screenful_and_its_keys_are_whole_before_an_older_page_is_read(
    make_journal_app: AppFactory, journal_store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading a page holds the interpreter for tens of milliseconds: the older pages wait
    for their timer (here far off), not for the first refresh, so the first screenful and
    the footer with the table's keys are drawn with nothing read beside them."""
    seed(journal_store, FIRST_PAGE + 20)
    monkeypatch.setattr(history_screen, "OLDER_PAGES_AFTER_S", 600.0)
    app = make_journal_app()
    async with app.run_test(size=(80, 24)) as pilot:
        history, pages = await open_history_counting_pages(app, pilot, monkeypatch)
        assert history.table is not None and history.table.has_focus
        keys = {key.action for key in history.query(FooterKey)}
        assert "select_cursor" in keys  # the footer shows the table's keys
        assert pages == [(FIRST_PAGE, None)] and not history.complete  # no older page read


async def test_the_floor_s_news_while_pages_are_still_read(
    make_journal_app: AppFactory, journal_store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Attempts written on the floor while the history still reads its pages: a new one goes
    on top at once; a change to one whose page is not read yet waits for that page (not on
    top, not twice) and shows in its newer version; rows drawn before keep their cells."""
    seed(journal_store, 300)
    app = make_journal_app()
    async with app.run_test(size=(80, 24)) as pilot:
        service = app.service
        assert service is not None
        real_attempts = service.attempts
        held = asyncio.Event()

        async def paged(*args: Any, **kwargs: Any) -> Any:
            if kwargs.get("after") is not None:
                await held.wait()  # the second page waits until the news is in
            return await real_attempts(*args, **kwargs)

        monkeypatch.setattr(service, "attempts", paged)
        lookup_screen(app).results.focus()
        await pilot.press("h")
        for _ in range(50):
            await pilot.pause()
            if isinstance(app.screen, HistoryScreen) and app.screen.loaded:
                break
        history = app.screen
        assert isinstance(history, HistoryScreen)
        assert len(history.attempts) == FIRST_PAGE and not history.complete
        top = history.attempts[0]
        assert history.table is not None and history.table.get_row_at(0)[2] == top.order_id

        deep = journal_store.get(5)  # on a page not read yet
        assert deep is not None and deep.id < history.attempts[-1].id
        changed = deep.model_copy(update={"version": deep.version + 1, "message": "re-checked"})
        holder = Holder(operator="ops-ben", host="floor", pid=2, pid_started=1.0)
        request = CancelRequest(provider="pattern", order_id="MO-NEW", reason="stock-out")
        lease = datetime.now(UTC) + timedelta(minutes=1)
        claim = journal_store.claim(request, holder, lease_until=lease, take_over=lambda _: False)
        assert claim.attempt_id is not None
        new = journal_store.get(claim.attempt_id)
        assert new is not None
        history.post_message(msg.AttemptsWritten([changed, new]))
        await pilot.pause()
        assert [a.id for a in history.attempts[:2]] == [new.id, top.id]  # new on top
        assert history.table.get_row_at(0)[2] == "MO-NEW"
        assert history.table.get_row_at(1)[2] == top.order_id  # drawn cells moved down
        assert deep.id not in {a.id for a in history.attempts}  # waits for its page

        held.set()
        await settle(pilot)
        assert history.complete and len(history.attempts) == 301
        ids = [a.id for a in history.attempts]
        assert len(set(ids)) == len(ids) and ids.count(deep.id) == 1
        assert next(a for a in history.attempts if a.id == deep.id).message == "re-checked"


async def _history_open(app: Any, pilot: Any) -> HistoryScreen:
    lookup_screen(app).results.focus()
    await pilot.press("h")
    await settle(pilot)
    assert isinstance(app.screen, HistoryScreen)
    return app.screen


def _claim(store: SqliteStore, order_id: str) -> int:
    holder = Holder(operator="ops-ben", host="floor", pid=2, pid_started=1.0)
    request = CancelRequest(provider="pattern", order_id=order_id, reason="stock-out")
    claim = store.claim(
        request,
        holder,
        lease_until=datetime.now(UTC) + timedelta(minutes=1),
        take_over=lambda _: False,
    )
    assert claim.attempt_id is not None
    return claim.attempt_id


async def test_the_highlight_stays_on_its_attempt_when_news_arrives_on_top(
    make_journal_app: AppFactory, journal_store: SqliteStore
) -> None:
    """Enter and r act on the highlighted attempt: a new one written on top must not move
    the highlight to its neighbour."""
    seed(journal_store, 20)
    app = make_journal_app()
    async with app.run_test(size=(100, 30)) as pilot:
        history = await _history_open(app, pilot)
        history.table.focus()
        for _ in range(5):
            await pilot.press("down")
        await pilot.pause()
        before = history.highlighted()
        assert before is not None and before.id == history.attempts[5].id
        new = journal_store.get(_claim(journal_store, "MO-NEW"))
        assert new is not None
        history.post_message(msg.AttemptsWritten([new]))
        await pilot.pause()
        await pilot.pause()
        assert history.attempts[0].id == new.id
        after = history.highlighted()
        assert after is not None and after.id == before.id


async def test_news_of_an_attempt_older_than_the_list_never_goes_on_top(
    make_journal_app: AppFactory, journal_store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history_screen, "HISTORY_LIMIT", 150)
    seed(journal_store, 200)
    app = make_journal_app()
    async with app.run_test(size=(100, 30)) as pilot:
        history = await _history_open(app, pilot)
        assert history.complete and len(history.attempts) == 150
        newest = history.attempts[0].id
        old = journal_store.get(3)  # not among the newest 150
        assert old is not None
        changed = old.model_copy(update={"version": 10_000, "message": "re-checked elsewhere"})
        history.post_message(msg.AttemptsWritten([changed]))
        await pilot.pause()
        await pilot.pause()
        assert history.attempts[0].id == newest
        assert 3 not in {a.id for a in history.attempts} and len(history.attempts) == 150


async def test_a_claim_withdrawn_elsewhere_leaves_the_list(
    make_journal_app: AppFactory, journal_store: SqliteStore
) -> None:
    seed(journal_store, 3)
    claim_id = _claim(journal_store, "MO-CLAIM")
    app = make_journal_app()
    async with app.run_test(size=(100, 30)) as pilot:
        history = await _history_open(app, pilot)
        assert history.attempts[0].id == claim_id
        journal_store.withdraw(claim_id, "nothing sent")
        gone = journal_store.get(claim_id)
        assert gone is not None
        history.post_message(msg.AttemptsWritten([gone]))
        await pilot.pause()
        await pilot.pause()
        assert claim_id not in {history.attempts[i].id for i in history.shown_rows}
        assert [history.table.shown_row(n)[2] for n in range(3)] == [
            "MO-00002", "MO-00001", "MO-00000"
        ]


async def test_news_that_comes_while_the_first_page_is_read_is_not_lost(
    make_journal_app: AppFactory, journal_store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first page's read began before another machine wrote an attempt, and its news
    arrived before the page: the attempt still shows, once, on top."""
    seed(journal_store, 5)
    app = make_journal_app()
    async with app.run_test(size=(100, 30)) as pilot:
        service = app.service
        assert service is not None
        real_attempts = service.attempts
        started, release = asyncio.Event(), asyncio.Event()

        async def slow_first(*args: Any, **kwargs: Any) -> Any:
            page = await real_attempts(*args, **kwargs)  # read before the write
            started.set()
            await release.wait()
            return page

        monkeypatch.setattr(service, "attempts", slow_first)
        lookup_screen(app).results.focus()
        await pilot.press("h")
        await asyncio.wait_for(started.wait(), 5)
        history = app.screen
        assert isinstance(history, HistoryScreen) and not history.loaded
        new = journal_store.get(_claim(journal_store, "MO-LATE"))
        assert new is not None
        history.post_message(msg.AttemptsWritten([new]))
        await pilot.pause()
        release.set()
        await settle(pilot)
        ids = [a.id for a in history.attempts]
        assert ids[0] == new.id and ids.count(new.id) == 1 and len(ids) == 6
