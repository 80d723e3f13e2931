"""The floor in words: an order's latest attempt as a supervisor would say it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tui.core.domain import Outcome
from tui.core.floor import ago, describe, in_flight_words
from tui.core.journal.model import Attempt, AttemptState

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def attempt(**fields: object) -> Attempt:
    base: dict[str, object] = {
        "id": 7,
        "started_at": NOW - timedelta(minutes=2),
        "operator": "ana",
        "provider": "shoplazza",
        "order_id": "633130-00000004",
        "reason": "dup",
        "state": AttemptState.FINISHED,
        "outcome": Outcome.COMPLETE,
        "confirmed": True,
        "finished_at": NOW - timedelta(minutes=2),
    }
    base.update(fields)
    return Attempt.model_validate(base)


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(seconds=3), "just now"),
        (timedelta(seconds=40), "40 s ago"),
        (timedelta(minutes=2, seconds=5), "2 min ago"),
        (timedelta(hours=3), "3 h ago"),
        (timedelta(days=1), "1 day ago"),
        (timedelta(days=4), "4 days ago"),
        (timedelta(seconds=-5), "just now"),
    ],
)
def test_ago(delta: timedelta, words: str) -> None:
    assert ago(delta) == words


def test_settled_attempts_in_words() -> None:
    assert describe(attempt(), now=NOW, in_flight=False).words == "cancelled 2 min ago by ana"
    unconfirmed = describe(attempt(confirmed=False), now=NOW, in_flight=False)
    assert "initiated" in unconfirmed.words and not unconfirmed.blocks_cancel
    refused = describe(attempt(outcome=Outcome.REFUSED), now=NOW, in_flight=False)
    assert refused.words == "ana's cancel 2 min ago was refused"
    mine = describe(attempt(), now=NOW, in_flight=False, mine=True)
    assert mine.words == "cancelled 2 min ago by you"
    named = describe(attempt(display_name="Ana Pereira"), now=NOW, in_flight=False)
    assert named.words == "cancelled 2 min ago by ana (Ana Pereira)"


def test_only_an_attempt_in_flight_blocks_another_cancel() -> None:
    flying = attempt(state=AttemptState.SENT, open=True, finished_at=None)
    note = describe(flying, now=NOW, in_flight=True)
    assert note.blocks_cancel and note.words == "ana is cancelling it now (since 2 min ago)"
    # Unknown and open, its process gone: the next cancel reconciles it first, so c stays.
    stale = describe(flying, now=NOW, in_flight=False)
    assert not stale.blocks_cancel and "no known outcome yet" in stale.words


def test_the_floor_line_names_the_newest_first_and_counts_the_rest() -> None:
    flying = [
        attempt(id=n, started_at=NOW - timedelta(seconds=n * 10), order_id=f"O-{n}")
        for n in range(1, 6)
    ]
    words = in_flight_words(flying, now=NOW, labels={"shoplazza": "Shoplazza"}, most=2)
    assert words == (
        "5 in flight: ana → Shoplazza O-1 (10 s), ana → Shoplazza O-2 (20 s), and 3 more"
    )
    assert in_flight_words([], now=NOW, labels={}) == ""
