"""The journal read a page at a time: the pages join up to exactly what one query lists (in
both orders, with attempts started at the same instant), and the history's filters are
served by indexes, not a scan of every attempt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from journal_testkit import (
    FakeClock,
    claim_and_send,
    make_outcome,
    make_request,
)

from tui.core.journal import SqliteJournal, SqliteStore
from tui.core.journal.history import each_attempt
from tui.core.journal.rows import history_query, stamp

START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def filled(journal_path: Path) -> Path:
    clock = FakeClock(START)
    with SqliteStore(journal_path, clock=clock) as store:
        for n in range(23):
            if n % 4 == 0:
                clock.advance(minutes=1)  # several attempts share each start instant
            request = make_request("pattern" if n % 2 else "shoplazza", f"O-{n % 7}")
            attempt_id = claim_and_send(store, request)
            store.finish(attempt_id, make_outcome(request), 1)
    return journal_path


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"since": START + timedelta(minutes=2)},
        {"provider": "pattern"},
        {"order_id": "O-3", "since": START},
        {"since": START + timedelta(hours=1)},  # nothing in the window
    ],
)
@pytest.mark.parametrize("page", [1, 2, 5, 500])
async def test_pages_join_up_to_one_query(filled: Path, filters: dict, page: int) -> None:
    journal = SqliteJournal.open(filled)
    try:
        whole = await journal.attempts(None, **filters)
        paged = [a async for a in each_attempt(journal, page=page, **filters)]
        assert [a.id for a in paged] == [a.id for a in whole]
        limited = [a async for a in each_attempt(journal, page=page, limit=7, **filters)]
        assert [a.id for a in limited] == [a.id for a in whole[:7]]
        if "since" in filters:  # the latest start first
            starts = [a.started_at for a in whole]
            assert starts == sorted(starts, reverse=True)
    finally:
        await journal.aclose()


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({"order_id": "O-3"}, "attempts_by_order_id"),
        ({"provider": "pattern", "order_id": "O-3"}, "attempts_by_order"),
        ({"since": stamp(START)}, "attempts_by_start_id"),
    ],
)
def test_history_filters_are_served_by_an_index(
    filled: Path, filters: dict, index: str
) -> None:
    with SqliteStore(filled) as store:
        conn = store._connection()
        for after in (None, (stamp(START), 10)):
            where, tail, params = history_query(
                50,
                filters.get("provider"),
                filters.get("order_id"),
                filters.get("since"),
                None,
                False,
                mark="?",
                after=after,
            )
            plan = " ".join(
                row[3]
                for row in conn.execute(
                    f"EXPLAIN QUERY PLAN SELECT id FROM attempts WHERE {where} {tail}", params
                )
            )
            assert f"USING INDEX {index}" in plan, plan
            assert "TEMP B-TREE" not in plan or "order_id" in filters, plan  # no sort of all

