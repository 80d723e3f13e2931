"""The SQLite journal's schema steps, in order. A step is never edited once released: a change
is a new step. ``PRAGMA user_version`` says how many have been applied."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

APPLICATION_ID = 0x53544C4E  # "STLN" in the SQLite header: marks the file as ours.

Migration = Sequence[str] | Callable[[sqlite3.Connection], None]
"""One schema step: SQL statements run in order, or a function given the connection."""

_V1 = (
    # 1: the attempts table. ``outcome`` stays NULL while ``state`` is ``sent``.
    """
    CREATE TABLE attempts (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at    TEXT    NOT NULL,
        finished_at   TEXT,
        updated_at    TEXT,
        operator      TEXT    NOT NULL,
        provider      TEXT    NOT NULL,
        order_id      TEXT    NOT NULL,
        reason        TEXT    NOT NULL,
        reason_code   TEXT,
        items         TEXT    NOT NULL DEFAULT '[]',
        state         TEXT    NOT NULL DEFAULT 'sent'
                              CHECK (state IN ('sent', 'finished')),
        outcome       TEXT    CHECK (outcome IS NULL OR outcome IN
                              ('complete', 'partial', 'refused', 'not_found',
                               'unknown', 'error')),
        confirmed     INTEGER NOT NULL DEFAULT 0,
        http_status   INTEGER,
        request_id    TEXT,
        cancelled     TEXT    NOT NULL DEFAULT '[]',
        not_cancelled TEXT    NOT NULL DEFAULT '[]',
        warnings      TEXT    NOT NULL DEFAULT '[]',
        message       TEXT    NOT NULL DEFAULT '',
        duration_ms   REAL
    )
    """,
    "CREATE INDEX attempts_by_order ON attempts (provider, order_id, id)",
    "CREATE INDEX attempts_by_start ON attempts (started_at)",
)

_V2 = (
    # 2: claims. New states (claimed, withdrawn), the process holding an attempt, the lease,
    # the order's state before sending, and ``open`` with a unique index over open attempts:
    # the database, not Python, keeps one open attempt per provider + order. SQLite cannot
    # widen a CHECK in place, so the table is rebuilt.
    """
    CREATE TABLE attempts_v2 (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at    TEXT    NOT NULL,
        sent_at       TEXT,
        finished_at   TEXT,
        updated_at    TEXT,
        lease_until   TEXT,
        operator      TEXT    NOT NULL,
        host          TEXT    NOT NULL DEFAULT '',
        pid           INTEGER,
        pid_started   REAL,
        provider      TEXT    NOT NULL,
        order_id      TEXT    NOT NULL,
        reason        TEXT    NOT NULL,
        reason_code   TEXT,
        items         TEXT    NOT NULL DEFAULT '[]',
        state         TEXT    NOT NULL DEFAULT 'claimed'
                              CHECK (state IN ('claimed', 'sent', 'finished', 'withdrawn')),
        open          INTEGER NOT NULL DEFAULT 1 CHECK (open IN (0, 1)),
        outcome       TEXT    CHECK (outcome IS NULL OR outcome IN
                              ('complete', 'partial', 'refused', 'not_found',
                               'unknown', 'error')),
        confirmed     INTEGER NOT NULL DEFAULT 0,
        http_status   INTEGER,
        request_id    TEXT,
        cancelled     TEXT    NOT NULL DEFAULT '[]',
        not_cancelled TEXT    NOT NULL DEFAULT '[]',
        warnings      TEXT    NOT NULL DEFAULT '[]',
        message       TEXT    NOT NULL DEFAULT '',
        duration_ms   REAL,
        before        TEXT
    )
    """,
    # Attempts from before claims existed: one still ``sent`` (its process died, or it is in
    # flight in an older Stopline) or finished ``unknown`` holds its order until reconciled.
    # Only the newest of several such on one order can hold the claim.
    """
    INSERT INTO attempts_v2 (id, started_at, sent_at, finished_at, updated_at, lease_until,
        operator, provider, order_id, reason, reason_code, items, state, open, outcome,
        confirmed, http_status, request_id, cancelled, not_cancelled, warnings, message,
        duration_ms)
    SELECT a.id, a.started_at, a.started_at, a.finished_at, a.updated_at, a.started_at,
        a.operator, a.provider, a.order_id, a.reason, a.reason_code, a.items, a.state,
        CASE WHEN (a.state = 'sent' OR a.outcome = 'unknown')
                  AND a.id = (SELECT MAX(b.id) FROM attempts b
                              WHERE b.provider = a.provider AND b.order_id = a.order_id
                                AND (b.state = 'sent' OR b.outcome = 'unknown'))
             THEN 1 ELSE 0 END,
        a.outcome, a.confirmed, a.http_status, a.request_id, a.cancelled, a.not_cancelled,
        a.warnings, a.message, a.duration_ms
    FROM attempts a
    """,
    "DROP TABLE attempts",
    "ALTER TABLE attempts_v2 RENAME TO attempts",
    "CREATE INDEX attempts_by_order ON attempts (provider, order_id, id)",
    "CREATE INDEX attempts_by_order_id ON attempts (order_id, id)",
    "CREATE INDEX attempts_by_start ON attempts (started_at)",
    "CREATE UNIQUE INDEX attempts_one_open ON attempts (provider, order_id) WHERE open = 1",
)

_V3 = (
    # 3: the shared journal's fields. ``display_name`` is what STOPLINE_OPERATOR says (here
    # the same as ``operator``; on PostgreSQL ``operator`` is the database role). ``version``
    # grows with every write, so a console can pick up what changed since it last looked.
    "ALTER TABLE attempts ADD COLUMN display_name TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE attempts ADD COLUMN version INTEGER NOT NULL DEFAULT 0",
    # Where an imported attempt came from (``stopline journal import``); NULL otherwise.
    "ALTER TABLE attempts ADD COLUMN origin TEXT",
    "UPDATE attempts SET display_name = operator, version = id",
    "CREATE INDEX attempts_by_version ON attempts (version)",
)

_V4 = (
    # 4: history at any size. ``--since`` lists the attempts started since a moment, the
    # latest start first: (started_at, id) serves the range and the order, so a window with
    # nothing in it costs a look-up, not a scan of every attempt. It replaces the index on
    # started_at alone. (``--order`` alone is served by attempts_by_order_id, from step 2.)
    "CREATE INDEX attempts_by_start_id ON attempts (started_at, id)",
    "DROP INDEX attempts_by_start",
)

MIGRATIONS: tuple[Migration, ...] = (_V1, _V2, _V3, _V4)
SCHEMA_VERSION = len(MIGRATIONS)
