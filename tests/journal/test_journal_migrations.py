"""Schema versioning: migrations from nothing, from version 1 (before claims) and onwards,
atomicity, refusals."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from journal_testkit import (
    LEASE,
    claim,
    claim_and_send,
    make_holder,
    make_outcome,
    make_request,
    never,
)

from tui.core.domain import Outcome
from tui.core.journal import MIGRATIONS, SCHEMA_VERSION, AttemptState, JournalError, SqliteStore
from tui.core.journal.sqlite_schema import APPLICATION_ID


def header(path: Path) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    try:
        return (
            conn.execute("PRAGMA user_version").fetchone()[0],
            conn.execute("PRAGMA application_id").fetchone()[0],
        )
    finally:
        conn.close()


def columns(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[1] for row in conn.execute("PRAGMA table_info(attempts)")]
    finally:
        conn.close()


def indexes(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {
            row[0]
            for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
            if not row[0].startswith("sqlite_")
        }
    finally:
        conn.close()


def make_v1(path: Path, rows: list[tuple]) -> None:
    """A version-1 journal (from before claims) holding ``rows``: (id, started_at, order_id,
    state, outcome) on Shoplazza, as that Stopline wrote them."""
    SqliteStore(path, migrations=MIGRATIONS[:1]).close()
    assert header(path) == (1, APPLICATION_ID)
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO attempts (id, started_at, finished_at, operator, provider, order_id,"
            " reason, items, state, outcome, confirmed, http_status, message, duration_ms)"
            " VALUES (?, ?, CASE WHEN ? = 'finished' THEN ? END, 'old-op', 'shoplazza', ?,"
            " 'legacy', '[]', ?, ?, ?, ?, 'then', 5)",
            [
                (
                    id_,
                    started,
                    state,
                    started,
                    order_id,
                    state,
                    outcome,
                    int(outcome == "complete"),
                    200 if outcome in ("complete", "refused") else None,
                )
                for id_, started, order_id, state, outcome in rows
            ],
        )
    conn.close()


def test_current_schema_version_is_the_number_of_steps() -> None:
    assert len(MIGRATIONS) == SCHEMA_VERSION
    # Step 2 is the claims step: the one that makes the database refuse a second open attempt.
    assert SCHEMA_VERSION >= 2
    claims = MIGRATIONS[1]
    assert not callable(claims)
    assert any("UNIQUE INDEX attempts_one_open" in statement for statement in claims)


def test_an_empty_file_is_migrated_to_the_current_version(journal_path: Path) -> None:
    journal_path.parent.mkdir(parents=True)
    journal_path.touch()
    assert journal_path.stat().st_size == 0
    with SqliteStore(journal_path) as store:
        assert store.attempts() == []
        claim_and_send(store, make_request())
    assert header(journal_path) == (SCHEMA_VERSION, APPLICATION_ID)
    assert {"state", "open", "sent_at", "lease_until", "host", "pid", "before"} <= set(
        columns(journal_path)
    )
    assert "attempts_one_open" in indexes(journal_path)


def test_a_missing_file_and_folders_are_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "journal.sqlite3"
    with SqliteStore(path):
        pass
    assert header(path) == (SCHEMA_VERSION, APPLICATION_ID)


T = "2025-02-01T09:00:0{}.000000+00:00"


def test_version_1_rows_become_open_or_closed_claims(journal_path: Path) -> None:
    make_v1(
        journal_path,
        [
            # order A: two legacy ``sent`` (their processes died): only the newest holds it
            (1, T.format(1), "A", "sent", None),
            (2, T.format(2), "A", "sent", None),
            # order B: finished unknown: holds it
            (3, T.format(3), "B", "finished", "unknown"),
            # order C: an older sent, then a settled answer (the newer one) — the sent holds
            (4, T.format(4), "C", "sent", None),
            (5, T.format(5), "C", "finished", "complete"),
            # order D: settled only: free
            (6, T.format(6), "D", "finished", "complete"),
            (7, T.format(7), "D", "finished", "error"),
            # order E: unknown, then a newer sent: the newest of the two holds it
            (8, T.format(8), "E", "finished", "unknown"),
            (9, T.format(9), "E", "sent", None),
        ],
    )

    with SqliteStore(journal_path) as store:
        assert header(journal_path) == (SCHEMA_VERSION, APPLICATION_ID)
        assert "attempts_one_open" in indexes(journal_path)
        by_id = {a.id: a for a in store.attempts(limit=None)}
        assert sorted(by_id) == list(range(1, 10))  # every row kept, ids unchanged
        assert {i for i, a in by_id.items() if a.open} == {2, 3, 4, 9}
        assert [a.id for a in store.attempts(open_only=True)] == [9, 4, 3, 2]

        # States and outcomes as they were; a legacy sent row still reads unknown.
        assert by_id[1].state is AttemptState.SENT and by_id[1].outcome is Outcome.UNKNOWN
        assert by_id[3].state is AttemptState.FINISHED and by_id[3].outcome is Outcome.UNKNOWN
        assert by_id[5].outcome is Outcome.COMPLETE and by_id[5].confirmed
        assert by_id[7].outcome is Outcome.ERROR
        # Written ahead when they started; their window is long over; no snapshot, no holder.
        legacy = by_id[2]
        assert legacy.sent_at == legacy.started_at == legacy.lease_until
        assert legacy.before is None
        assert (legacy.host, legacy.pid, legacy.operator) == ("", None, "old-op")

        # The open ones hold their orders; the closed ones do not.
        for order_id, holder in (("A", 2), ("B", 3), ("C", 4), ("E", 9)):
            got = store.claim(
                make_request(order_id=order_id), make_holder(), lease_until=LEASE, take_over=never
            )
            assert not got.taken and got.holder is not None, order_id
            assert got.holder.id == holder, order_id
        fresh = claim(store, make_request(order_id="D"))
        assert fresh > 9


def test_a_newer_step_migrates_forward_keeping_every_row(journal_path: Path) -> None:
    with SqliteStore(journal_path) as v2:
        request = make_request(order_id="old-1")
        done = claim_and_send(v2, request)
        v2.finish(done, make_outcome(request), 7)
        pending = claim_and_send(v2, make_request(order_id="old-2"))
    assert header(journal_path)[0] == SCHEMA_VERSION

    calls: list[int] = []

    def backfill(conn: sqlite3.Connection) -> None:
        calls.append(1)
        conn.execute("UPDATE attempts SET site = 'north' WHERE order_id = 'old-1'")

    step = ("ALTER TABLE attempts ADD COLUMN site TEXT NOT NULL DEFAULT 'main'",)
    with SqliteStore(journal_path, migrations=(*MIGRATIONS, step, backfill)) as newer:
        assert header(journal_path)[0] == SCHEMA_VERSION + 2
        assert [a.order_id for a in newer.attempts()] == ["old-2", "old-1"]
        old = newer.get(done)
        assert old is not None and old.outcome is Outcome.COMPLETE
        still = newer.get(pending)
        assert still is not None and still.outcome is Outcome.UNKNOWN and still.open
        conn = newer._connection()
        sites = dict(conn.execute("SELECT order_id, site FROM attempts").fetchall())
        assert sites == {"old-1": "north", "old-2": "main"}
        claim_and_send(newer, make_request(order_id="new"))  # still writable with the new column
    assert calls == [1]

    # An up-to-date file is not migrated again.
    with SqliteStore(journal_path, migrations=(*MIGRATIONS, step, backfill)):
        pass
    assert calls == [1]


def test_a_failing_step_rolls_back_the_whole_migration_from_version_1(
    journal_path: Path,
) -> None:
    """The claims rebuild (step 2) is undone with a later step that fails: the file stays a
    readable version 1, rows and all."""
    make_v1(journal_path, [(1, T.format(1), "keep", "sent", None)])
    v1_columns = columns(journal_path)

    good = ("ALTER TABLE attempts ADD COLUMN extra TEXT",)
    bad = ("UPDATE no_such_table SET x = 1",)
    with pytest.raises(JournalError, match="no_such_table"):
        SqliteStore(journal_path, migrations=(*MIGRATIONS, good, bad))
    assert header(journal_path)[0] == 1
    assert columns(journal_path) == v1_columns  # no ``open``, no ``extra``
    assert "open" not in v1_columns
    assert "attempts_one_open" not in indexes(journal_path)
    with SqliteStore(journal_path) as again:
        (kept,) = again.attempts()
        assert (kept.id, kept.order_id, kept.open) == (1, "keep", True)


def test_a_failing_step_on_a_new_file_leaves_it_empty(journal_path: Path) -> None:
    with pytest.raises(JournalError):
        SqliteStore(journal_path, migrations=(*MIGRATIONS, ("NOT SQL AT ALL",)))
    assert header(journal_path) == (0, 0)
    assert columns(journal_path) == []


def test_a_newer_schema_is_refused_untouched(journal_path: Path) -> None:
    with SqliteStore(journal_path) as store:
        claim_and_send(store, make_request())
    conn = sqlite3.connect(journal_path)
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    with pytest.raises(
        JournalError,
        match=rf"schema version 7, newer than this Stopline knows \({SCHEMA_VERSION}\)",
    ):
        SqliteStore(journal_path)
    assert header(journal_path)[0] == 7


def test_a_file_that_is_not_a_database_is_refused(journal_path: Path) -> None:
    journal_path.parent.mkdir(parents=True)
    journal_path.write_bytes(b"definitely not sqlite " * 100)
    with pytest.raises(JournalError, match="as the journal: file is not a database"):
        SqliteStore(journal_path)
    assert journal_path.read_bytes().startswith(b"definitely not sqlite")


def test_another_applications_database_is_refused(journal_path: Path) -> None:
    journal_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(journal_path)
    conn.execute("PRAGMA application_id = 1234")
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()
    with pytest.raises(JournalError, match="another application"):
        SqliteStore(journal_path)
    assert header(journal_path) == (0, 1234)
