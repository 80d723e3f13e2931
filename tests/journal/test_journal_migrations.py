"""Schema versioning: migrations from nothing and from version 1, atomicity, refusals."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from journal_testkit import make_outcome, make_request

from tui.core.domain import Outcome
from tui.core.journal import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, Journal, JournalError


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


def test_current_schema_version_is_the_number_of_steps() -> None:
    assert SCHEMA_VERSION == len(MIGRATIONS) == 1


def test_an_empty_file_is_migrated_to_the_current_version(journal_path: Path) -> None:
    journal_path.parent.mkdir(parents=True)
    journal_path.touch()
    assert journal_path.stat().st_size == 0
    with Journal(journal_path) as journal:
        assert journal.attempts() == []
        journal.begin(make_request())
    assert header(journal_path) == (SCHEMA_VERSION, APPLICATION_ID)
    assert "state" in columns(journal_path)


def test_a_missing_file_and_folders_are_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "journal.sqlite3"
    with Journal(path):
        pass
    assert header(path) == (SCHEMA_VERSION, APPLICATION_ID)


def test_version_1_is_migrated_forward_keeping_every_row(journal_path: Path) -> None:
    with Journal(journal_path) as v1:
        request = make_request(order_id="old-1")
        done = v1.begin(request)
        v1.finish(done, make_outcome(request), 7)
        pending = v1.begin(make_request(order_id="old-2"))
    assert header(journal_path)[0] == 1

    calls: list[int] = []

    def backfill(conn: sqlite3.Connection) -> None:
        calls.append(1)
        conn.execute("UPDATE attempts SET site = 'north' WHERE order_id = 'old-1'")

    step2 = ("ALTER TABLE attempts ADD COLUMN site TEXT NOT NULL DEFAULT 'main'",)
    with Journal(journal_path, migrations=(*MIGRATIONS, step2, backfill)) as v3:
        assert header(journal_path)[0] == 3
        assert [a.order_id for a in v3.attempts()] == ["old-2", "old-1"]
        old = v3.get(done)
        assert old is not None and old.outcome is Outcome.COMPLETE
        still = v3.get(pending)
        assert still is not None and still.outcome is Outcome.UNKNOWN
        conn = v3._connection()
        sites = dict(conn.execute("SELECT order_id, site FROM attempts").fetchall())
        assert sites == {"old-1": "north", "old-2": "main"}
        v3.begin(make_request(order_id="new"))  # still writable with the new column
    assert calls == [1]

    # An up-to-date file is not migrated again.
    with Journal(journal_path, migrations=(*MIGRATIONS, step2, backfill)):
        pass
    assert calls == [1]


def test_a_failing_step_rolls_back_the_whole_migration(journal_path: Path) -> None:
    with Journal(journal_path) as v1:
        v1.begin(make_request(order_id="keep"))

    good = ("ALTER TABLE attempts ADD COLUMN extra TEXT",)
    bad = ("UPDATE no_such_table SET x = 1",)
    with pytest.raises(JournalError, match="no_such_table"):
        Journal(journal_path, migrations=(*MIGRATIONS, good, bad))
    assert header(journal_path)[0] == 1
    assert "extra" not in columns(journal_path)  # step 2 was undone with step 3
    with Journal(journal_path) as again:
        assert [a.order_id for a in again.attempts()] == ["keep"]


def test_a_failing_step_on_a_new_file_leaves_it_empty(journal_path: Path) -> None:
    with pytest.raises(JournalError):
        Journal(journal_path, migrations=(*MIGRATIONS, ("NOT SQL AT ALL",)))
    assert header(journal_path) == (0, 0)
    assert columns(journal_path) == []


def test_a_newer_schema_is_refused_untouched(journal_path: Path) -> None:
    with Journal(journal_path) as journal:
        journal.begin(make_request())
    conn = sqlite3.connect(journal_path)
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    with pytest.raises(
        JournalError, match=r"schema version 7, newer than this Stopline knows \(1\)"
    ):
        Journal(journal_path)
    assert header(journal_path)[0] == 7


def test_a_file_that_is_not_a_database_is_refused(journal_path: Path) -> None:
    journal_path.parent.mkdir(parents=True)
    journal_path.write_bytes(b"definitely not sqlite " * 100)
    with pytest.raises(JournalError, match="as the journal: file is not a database"):
        Journal(journal_path)
    assert journal_path.read_bytes().startswith(b"definitely not sqlite")


def test_another_applications_database_is_refused(journal_path: Path) -> None:
    journal_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(journal_path)
    conn.execute("PRAGMA application_id = 1234")
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()
    with pytest.raises(JournalError, match="another application"):
        Journal(journal_path)
    assert header(journal_path) == (0, 1234)
