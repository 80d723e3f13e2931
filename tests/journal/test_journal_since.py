"""``parse_since``: the ``--since`` forms history accepts, and clear refusals."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from journal_testkit import FakeClock, claim_and_send, make_request

from tui.core.identifiers import InvalidInput
from tui.core.journal import SqliteStore, parse_since

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def berlin() -> Iterator[None]:
    """Local time is Europe/Berlin (UTC+1 in winter, +2 in summer) for the test."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Berlin"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


@pytest.mark.parametrize(
    ("text", "ago"),
    [
        ("2h", timedelta(hours=2)),
        ("30m", timedelta(minutes=30)),
        ("7d", timedelta(days=7)),
        ("45s", timedelta(seconds=45)),
        ("2w", timedelta(weeks=2)),
        (" 2H ", timedelta(hours=2)),
        ("10 m", timedelta(minutes=10)),
        ("0m", timedelta(0)),
    ],
)
def test_relative_ages(text: str, ago: timedelta) -> None:
    result = parse_since(text, now=NOW)
    assert result == NOW - ago
    assert result.utcoffset() == timedelta(0)


def test_relative_age_defaults_to_the_current_time() -> None:
    before = datetime.now(UTC)
    result = parse_since("1h")
    after = datetime.now(UTC)
    assert before - timedelta(hours=1) <= result <= after - timedelta(hours=1)


@pytest.mark.usefixtures("berlin")
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01", datetime(2024, 4, 30, 22, 0, tzinfo=UTC)),  # local midnight, CEST
        ("2024-01-15", datetime(2024, 1, 14, 23, 0, tzinfo=UTC)),  # CET
        ("2024-05-01T09:30", datetime(2024, 5, 1, 7, 30, tzinfo=UTC)),
        ("2024-05-01 09:30:15", datetime(2024, 5, 1, 7, 30, 15, tzinfo=UTC)),
        ("2024-05-01T09:30Z", datetime(2024, 5, 1, 9, 30, tzinfo=UTC)),
        ("2024-05-01T09:30:00+05:00", datetime(2024, 5, 1, 4, 30, tzinfo=UTC)),
    ],
)
def test_iso_dates_and_times(text: str, expected: datetime) -> None:
    result = parse_since(text)
    assert result == expected
    assert result.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "yesterday", "2h30m", "-2h", "2 hours", "2024-13-01", "12", "2d ago", "1e3s"],
)
def test_unreadable_values_are_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_since(text, now=NOW)
    assert "30m, 2h, 7d" in str(caught.value)


def test_long_garbage_is_shortened_in_the_message() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_since("x" * 500, now=NOW)
    assert len(str(caught.value)) < 300


def test_an_age_too_far_back_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="too far back"):
        parse_since("9999999w", now=NOW)


def test_since_filters_the_journal(clock: FakeClock, store: SqliteStore) -> None:
    claim_and_send(store, make_request(order_id="three-hours-ago"))
    clock.advance(hours=2)
    claim_and_send(store, make_request(order_id="one-hour-ago"))
    clock.advance(hours=1)
    since = parse_since("2h", now=clock.now)
    assert [a.order_id for a in store.attempts(since=since)] == ["one-hour-ago"]
