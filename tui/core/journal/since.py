"""``--since`` values: an ISO date or date-time, or an age such as 30m, 2h, 7d."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from tui.core.identifiers import InvalidInput

_AGE = re.compile(r"^(\d{1,7})\s*([smhdw])$", re.IGNORECASE)
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_SINCE_HELP = (
    "use a date (2024-05-01), a date and time (2024-05-01T09:30, local time unless it "
    "has an offset such as Z or +02:00) or an age such as 30m, 2h, 7d"
)


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """A ``--since`` value as an aware UTC datetime: ISO date or date-time, or an age."""
    raw = (text or "").strip()
    if not raw:
        raise InvalidInput(f"--since is empty; {_SINCE_HELP}")
    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    match = _AGE.match(raw)
    if match:
        amount, unit = int(match.group(1)), match.group(2).lower()
        try:
            return (now or datetime.now(UTC)).astimezone(UTC) - timedelta(**{_UNIT[unit]: amount})
        except OverflowError:
            raise InvalidInput(f"--since {shown!r} reaches too far back") from None
    try:
        if len(raw) == 10:
            moment = datetime.combine(date.fromisoformat(raw), time())
        else:
            moment = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"cannot read --since {shown!r}: {_SINCE_HELP}") from None
    try:
        return moment.astimezone(UTC)  # naive → the local time zone
    except (OverflowError, OSError):
        raise InvalidInput(f"--since {shown!r} is out of range") from None
