"""``stopline history --json``/``--csv`` stream: each page of attempts is written before the
next is read, so memory stays flat at any journal size (bench/history.py measures it)."""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tui.cli.main import run
from tui.core.domain import CancelOutcome, CancelRequest, Order, Outcome
from tui.core.journal import Holder, SqliteJournal, SqliteStore
from tui.core.journal import history as paging
from tui.core.settings import load_settings

ATTEMPTS = 10


@pytest.fixture
def journal_ids() -> list[int]:
    path = load_settings().resolved_data_dir() / "demo" / "journal.sqlite3"
    holder = Holder(operator="ops-anna", host="elsewhere", pid=1, pid_started=1.0)
    lease = datetime.now(UTC) - timedelta(minutes=1)
    ids = []
    with SqliteStore(path) as store:
        for n in range(ATTEMPTS):
            request = CancelRequest(provider="pattern", order_id=f"MO-{n}", reason="stock-out")
            claim = store.claim(request, holder, lease_until=lease, take_over=lambda _: False)
            assert claim.attempt_id is not None
            store.mark_sent(
                claim.attempt_id, Order(provider="pattern", order_id=f"MO-{n}"), lease_until=lease
            )
            store.finish(
                claim.attempt_id,
                CancelOutcome(provider="pattern", order_id=f"MO-{n}", outcome=Outcome.COMPLETE),
                1.0,
            )
            ids.append(claim.attempt_id)
    return ids


@pytest.mark.parametrize("form", ["--json", "--csv"])
def test_each_page_is_written_before_the_next_is_read(
    form: str, journal_ids: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paging, "PAGE", 3)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    written_before_page: list[str] = []
    read_page = SqliteJournal.attempts

    async def spying(self: SqliteJournal, *args: object, **kwargs: object) -> object:
        written_before_page.append(out.getvalue())
        return await read_page(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(SqliteJournal, "attempts", spying)
    assert run(["history", form, "--limit", "1000"]) == 0
    if form == "--json":
        rows = json.loads(out.getvalue())
        ids = [row["id"] for row in rows]
        shown_before = [text.count('"id": ') for text in written_before_page]
    else:
        rows = list(csv.DictReader(io.StringIO(out.getvalue())))
        ids = [int(row["id"]) for row in rows]
        shown_before = [max(0, text.count("\n") - 1) for text in written_before_page]
    assert ids == sorted(journal_ids, reverse=True)
    # Four pages of 3 (the last one short); before each, every attempt read so far was
    # already written out.
    assert shown_before == [0, 3, 6, 9]


def test_the_streamed_json_is_the_same_document_as_before(journal_ids: list[int]) -> None:
    out = io.StringIO()
    real = sys.stdout
    sys.stdout = out
    try:
        assert run(["history", "--json"]) == 0
    finally:
        sys.stdout = real
    text = out.getvalue()
    assert text == json.dumps(json.loads(text), ensure_ascii=False) + "\n"
