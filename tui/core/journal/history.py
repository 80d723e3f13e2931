"""The journal's attempts as a stream: page after page, never all at once.

``stopline history --json`` over a million attempts holds one page at a time, and writes
each attempt before the next page is read. Pages follow each other by key (the last
attempt's start and id), so every page costs an index range, however deep into the journal.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from tui.core.journal.model import Attempt
from tui.core.journal.protocol import AttemptJournal
from tui.core.vocabulary import Outcome

PAGE = 500
"""Attempts read at a time."""


async def each_attempt(
    journal: AttemptJournal,
    *,
    limit: int | None = None,
    provider: str | None = None,
    order_id: str | None = None,
    since: datetime | None = None,
    outcome: Outcome | str | None = None,
    open_only: bool = False,
    page: int | None = None,
) -> AsyncIterator[Attempt]:
    """Every attempt :meth:`AttemptJournal.attempts` would list (at most ``limit``), in its
    order, read ``page`` (default :data:`PAGE`) at a time."""
    page = page or PAGE
    left = limit
    last: Attempt | None = None
    while left is None or left > 0:
        size = page if left is None else min(page, left)
        rows = await journal.attempts(
            size, provider, order_id, since, outcome, open_only=open_only, after=last
        )
        for attempt in rows:
            yield attempt
        if len(rows) < size:
            return
        last = rows[-1]
        if left is not None:
            left -= len(rows)
