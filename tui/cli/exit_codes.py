"""The documented exit codes of every ``stopline`` command."""

from __future__ import annotations

from tui.core.domain import Outcome

OK = 0
FAILURE = 1
"""Anything else: auth refused, provider down, 5xx, an unexpected fault."""
USAGE = 2
"""Bad input or usage; nothing was sent."""
PARTIAL = 3
REFUSED = 4
NOT_FOUND = 5
UNKNOWN = 6
"""A cancel was sent and its result is unknown: look it up before trying again."""

BY_OUTCOME: dict[Outcome, int] = {
    Outcome.COMPLETE: OK,
    Outcome.PARTIAL: PARTIAL,
    Outcome.REFUSED: REFUSED,
    Outcome.NOT_FOUND: NOT_FOUND,
    Outcome.UNKNOWN: UNKNOWN,
    Outcome.ERROR: FAILURE,
}
