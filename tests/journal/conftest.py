"""Fixtures for the journal tests: a store in a temporary data dir, with a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from journal_testkit import FakeClock

from tui.core.journal import SqliteStore


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2025, 3, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "journal.sqlite3"


@pytest.fixture
def store(journal_path: Path, clock: FakeClock) -> Iterator[SqliteStore]:
    with SqliteStore(journal_path, clock=clock) as s:
        yield s
