"""What the floor is doing, in words: an order's latest attempt as a supervisor would say it
("cancelled 2 min ago by ana", "ana is cancelling it now"), and the attempts in flight.

Words only, from the journal's attempts; the console shows them as others' work arrives
(:meth:`tui.core.service.StoplineService.watch_attempts`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tui.core.journal.model import Attempt, AttemptState
from tui.core.vocabulary import Outcome, Tone


def ago(delta: timedelta) -> str:
    """``just now``, ``40 s ago``, ``2 min ago``, ``3 h ago``, ``2 days ago``."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 10:
        return "just now"
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    days = seconds // 86400
    return f"{days} day{'s' if days != 1 else ''} ago"


@dataclass(frozen=True)
class FloorNote:
    """One sentence about an order's latest attempt, and the tone to say it in."""

    words: str
    tone: Tone
    blocks_cancel: bool = False
    """Another attempt is sending a cancel of the order right now: one more would not be
    sent (an unknown or unconfirmed one is reconciled by the next cancel instead)."""


def describe(attempt: Attempt, *, now: datetime, in_flight: bool, mine: bool = False) -> FloorNote:
    """The latest attempt on an order, for the people working the same wave."""
    who = "you" if mine else attempt.who
    when = ago(now - (attempt.updated_at or attempt.finished_at or attempt.started_at))
    if in_flight:
        since = ago(now - attempt.started_at)
        verb = "are" if mine else "is"
        return FloorNote(f"{who} {verb} cancelling it now (since {since})", Tone.INFO, True)
    if attempt.open:
        return FloorNote(
            f"{who}'s cancel {ago(now - attempt.started_at)} has no known outcome yet: "
            "it is reconciled before anything is sent again",
            Tone.WARN,
        )
    outcome = attempt.outcome
    if attempt.state is not AttemptState.FINISHED:
        return FloorNote(f"{who} tried {when}; nothing was sent", Tone.MUTED)
    if outcome is Outcome.COMPLETE:
        if attempt.confirmed:
            return FloorNote(f"cancelled {when} by {who}", Tone.GOOD)
        return FloorNote(f"cancel initiated {when} by {who}, not yet confirmed", Tone.WARN)
    if outcome is Outcome.PARTIAL:
        return FloorNote(f"partly cancelled {when} by {who}", Tone.WARN)
    if outcome is Outcome.REFUSED:
        return FloorNote(f"{who}'s cancel {when} was refused", Tone.BAD)
    if outcome is Outcome.NOT_FOUND:
        return FloorNote(f"{who}'s cancel {when} did not find it", Tone.WARN)
    if outcome is Outcome.ERROR:
        return FloorNote(f"{who}'s cancel {when} did not go through", Tone.MUTED)
    return FloorNote(f"{who}'s cancel {when}: {outcome.label}", Tone.WARN)


def in_flight_words(
    attempts: Iterable[Attempt], *, now: datetime, labels: dict[str, str], most: int = 3
) -> str:
    """The attempts in flight on the floor, newest first: ``2 in flight: ana → Shoplazza
    633130-00000004 (12 s), ben → …``; empty when there are none."""
    flying = sorted(attempts, key=lambda a: a.started_at, reverse=True)
    if not flying:
        return ""
    shown = [
        f"{a.who} → {labels.get(a.provider, a.provider)} {a.order_id} "
        f"({max(0, int((now - a.started_at).total_seconds()))} s)"
        for a in flying[:most]
    ]
    more = f", and {len(flying) - most} more" if len(flying) > most else ""
    return f"{len(flying)} in flight: " + ", ".join(shown) + more
