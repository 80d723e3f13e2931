"""The history's rows: an attempt's cells, its outcome in words, what ``/`` searches, and
whether ``r`` has anything to re-check (the core's rule)."""


from __future__ import annotations

from typing import TYPE_CHECKING

from tui.core.domain import Outcome
from tui.core.providers import registry
from tui.core.text import clean
from tui.core.vocabulary import Tone

if TYPE_CHECKING:
    from tui.core.journal import Attempt


HISTORY_LIMIT = 5_000
"""Newest attempts read into the screen; ``stopline history`` reaches further back."""

COLUMNS = ["time", "provider", "order", "outcome", "reason", "operator", "conf.", "HTTP"]
OUTCOME_COLUMN = 3
REASON_COLUMN = 4
WIDTHS = [11, 11, 24, 9, 60, 14, 5, 4]
"""The widest each column gets; :func:`fit_widths` gives the reason what the screen leaves."""


def fit_widths(available: int, rows: list[list[str]] | None = None) -> list[int]:
    """Column widths with the reason filling the screen after time, provider, order and
    outcome, each as wide as its widest cell in ``rows`` (operator, conf. and HTTP follow the
    reason, scrolled to when the screen is narrow; the line under the table shows the
    highlighted attempt whole)."""
    widths = list(WIDTHS)
    if rows:
        for index in range(REASON_COLUMN):
            widths[index] = min(
                WIDTHS[index], max([len(COLUMNS[index]), *(len(row[index]) for row in rows)])
            )
    before = sum(widths[:REASON_COLUMN]) + 2 * (REASON_COLUMN + 1) + 1
    widths[REASON_COLUMN] = max(16, min(WIDTHS[REASON_COLUMN], available - before))
    return widths
WORD_TONE = {
    **{outcome.words: outcome.tone for outcome in Outcome},
    "IN FLIGHT": Tone.INFO,
    "OPEN": Tone.WARN,
}


def needs_recheck(attempt: Attempt) -> bool:
    """Unknown, or initiated and not yet confirmed by the provider: a look-up may settle it
    (the core's rule: :func:`tui.core.lifecycle.next_step`)."""
    from tui.core.lifecycle import NextStep, next_step

    return next_step(attempt.as_outcome()) is NextStep.RECHECK


IN_FLIGHT = "IN FLIGHT"
OPEN = "OPEN"


def outcome_word(attempt: Attempt, in_flight: bool = False) -> str:
    """The outcome in words; an open attempt says so: ``IN FLIGHT`` while its process sends
    it, ``OPEN`` while it holds its order unknown until reconciled."""
    if in_flight:
        return IN_FLIGHT
    if attempt.open:
        return OPEN
    return attempt.outcome.words


def attempt_cells(attempt: Attempt, in_flight: bool = False) -> list[str]:
    """One table row: every cell cleaned and cut to its column."""
    if attempt.outcome in (Outcome.COMPLETE, Outcome.PARTIAL):
        confirmed = "yes" if attempt.confirmed else "no"
    else:
        confirmed = ""
    return [
        attempt.started_at.astimezone().strftime("%m-%d %H:%M"),
        clean(registry.label(attempt.provider), max_chars=20),
        clean(attempt.order_id, max_chars=40),
        outcome_word(attempt, in_flight),
        clean(attempt.reason, max_chars=60),
        clean(attempt.operator, max_chars=14),
        confirmed,
        "" if attempt.http_status is None else str(attempt.http_status),
    ]


def haystack(attempt: Attempt, in_flight: bool = False) -> str:
    """What ``/`` searches: order, provider (key and name), outcome (and the word shown for
    it), operator."""
    parts = (
        attempt.order_id,
        attempt.provider,
        registry.label(attempt.provider),
        attempt.outcome.value.replace("_", " "),
        outcome_word(attempt, in_flight),
        attempt.operator,
    )
    return clean(" ".join(parts), max_chars=10_000).lower()


def matches(text: str, query: str) -> bool:
    """Every word of ``query`` occurs in ``text`` (case-insensitive)."""
    return all(word in text for word in query.lower().split())


