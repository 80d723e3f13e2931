"""The documented exit codes of every ``stopline`` command."""

from __future__ import annotations

from tui.core.vocabulary import Outcome, RowStatus

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
HELD = 7
"""Nothing was sent: another attempt holds the order (in flight, awaiting confirmation, or
unknown until reconciled)."""

BY_OUTCOME: dict[str, int] = {
    Outcome.COMPLETE: OK,
    Outcome.PARTIAL: PARTIAL,
    Outcome.REFUSED: REFUSED,
    Outcome.NOT_FOUND: NOT_FOUND,
    Outcome.UNKNOWN: UNKNOWN,
    Outcome.ERROR: FAILURE,
    RowStatus.HELD: HELD,
    RowStatus.ALREADY_CANCELLED: OK,
}
"""Exit code by outcome, or by a batch row's status (the vocabulary's values)."""


def epilog(*rows: tuple[int, str], note: str = "") -> str:
    """A command's ``exit codes:`` section for its ``--help``."""
    lines = ["exit codes:"]
    lines.extend(f"  {code:>3}  {words}" for code, words in rows)
    if note:
        lines.append(f"  {note}")
    return "\n".join(lines) + "\n"


BAD_USAGE = (USAGE, "bad input or usage (the message names it); nothing was sent")
OUTCOME_CODES = (
    (OK, "complete: everything asked for was cancelled (or initiated, for Pattern)"),
    (FAILURE, "error: provably not applied (rejected, credentials refused, provider down)"),
    BAD_USAGE,
    (PARTIAL, "partial: some lines cancelled, others not"),
    (REFUSED, "refused by the provider: nothing cancelled"),
    (NOT_FOUND, "not found"),
    (UNKNOWN, "outcome unknown: it may have taken effect; look the order up before retrying"),
    (HELD, "not sent: another attempt holds the order (in flight, or unknown until re-checked)"),
)
