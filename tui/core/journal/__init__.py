"""The journal of cancel attempts: claims, write-ahead rows, answers, reconciliations.

``model`` (what an attempt is), ``protocol`` (what the service needs of a journal),
``sqlite`` (the embedded engine) and ``since`` (``--since`` parsing).
"""

from __future__ import annotations

from tui.core.journal.model import (
    OPEN_STATES,
    PUBLIC_FIELDS,
    Attempt,
    AttemptState,
    Claim,
    Holder,
    JournalError,
    UnknownAttempt,
)
from tui.core.journal.protocol import AttemptJournal, TakeOver
from tui.core.journal.since import parse_since
from tui.core.journal.sqlite import SqliteJournal
from tui.core.journal.sqlite_schema import MIGRATIONS, SCHEMA_VERSION, Migration
from tui.core.journal.sqlite_store import SqliteStore

__all__ = [
    "MIGRATIONS",
    "OPEN_STATES",
    "PUBLIC_FIELDS",
    "SCHEMA_VERSION",
    "Attempt",
    "AttemptJournal",
    "AttemptState",
    "Claim",
    "Holder",
    "JournalError",
    "Migration",
    "SqliteJournal",
    "SqliteStore",
    "TakeOver",
    "UnknownAttempt",
    "parse_since",
]
