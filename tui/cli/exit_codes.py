"""The documented exit codes of every ``stopline`` command."""

from __future__ import annotations

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

# Keyed by the outcome's value (or a batch status), so that importing this module stays
# free of pydantic (the console's first frame does not wait for it).
BY_OUTCOME: dict[str, int] = {
    "complete": OK,
    "partial": PARTIAL,
    "refused": REFUSED,
    "not_found": NOT_FOUND,
    "unknown": UNKNOWN,
    "error": FAILURE,
    "held": HELD,
    "already_cancelled": OK,
}
