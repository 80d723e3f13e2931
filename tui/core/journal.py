"""The write-ahead journal of cancel attempts (SQLite from the standard library, WAL mode).

An attempt is written and committed **before** its request is sent (state ``sent``) and
completed after the answer (state ``finished``). An attempt whose process died between the
two stays ``sent`` and always reads back as outcome ``unknown``: it never disappears and
never turns into a success. Later confirmations and re-checks :meth:`Journal.update` it.

Concurrency: one connection per :class:`Journal`, guarded by a lock (any thread may use
it); every write is one ``BEGIN IMMEDIATE`` transaction, and WAL plus ``busy_timeout``
let several Stopline processes share the file. A forked child opens its own connection.

Durability: the write-ahead row is committed with ``synchronous=FULL`` (fsynced before the
request may leave); completions use ``NORMAL`` — losing one to a power cut leaves the
attempt ``unknown``, the safe direction, and the next write-ahead commit syncs it anyway.

Only request and outcome fields are stored; nothing from the settings (no credential,
token or URL) ever reaches this module.
"""

from __future__ import annotations

import json
import os
import random
import re
import sqlite3
import threading
import time as _time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tui.core.domain import (
    CancelledLine,
    CancelOutcome,
    CancelRequest,
    ItemSelection,
    NotCancelledLine,
    Outcome,
)
from tui.core.identifiers import InvalidInput
from tui.core.settings import Settings

APPLICATION_ID = 0x53544C4E  # "STLN" in the SQLite header: marks the file as ours.
DEFAULT_BUSY_TIMEOUT_MS = 5000

Migration = Sequence[str] | Callable[[sqlite3.Connection], None]
"""One schema step: SQL statements run in order, or a function given the connection."""

MIGRATIONS: tuple[Migration, ...] = (
    # 1: the attempts table. ``outcome`` stays NULL while ``state`` is ``sent``.
    (
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
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

PUBLIC_FIELDS: tuple[str, ...] = (
    "id",
    "started_at",
    "finished_at",
    "updated_at",
    "operator",
    "provider",
    "order_id",
    "reason",
    "reason_code",
    "items",
    "state",
    "outcome",
    "confirmed",
    "http_status",
    "request_id",
    "cancelled",
    "not_cancelled",
    "warnings",
    "message",
    "duration_ms",
)
"""The keys of :meth:`Attempt.to_public`, in order (``stopline history --json``/``--csv``)."""

_COLUMNS = ", ".join(PUBLIC_FIELDS)


class JournalError(Exception):
    """The journal cannot be opened or written; the message is safe to show as is."""


class UnknownAttempt(JournalError, LookupError):
    """No attempt has the id given to :meth:`Journal.finish` or :meth:`Journal.update`."""


class AttemptState(StrEnum):
    SENT = "sent"
    """Written ahead; no answer recorded (in flight, or its process died)."""
    FINISHED = "finished"
    """An outcome is recorded (the provider's answer, or a later re-check)."""


class Attempt(BaseModel):
    """One journalled cancel attempt as read back."""

    model_config = ConfigDict(frozen=True)

    id: int
    started_at: datetime
    finished_at: datetime | None = None
    """When the sending process recorded the answer; None if it never did."""
    updated_at: datetime | None = None
    """When a later confirmation or re-check last changed the outcome."""
    operator: str
    provider: str
    order_id: str
    reason: str
    reason_code: str | None = None
    items: list[ItemSelection] = Field(default_factory=list)
    """Empty means the whole order."""
    state: AttemptState = AttemptState.SENT
    outcome: Outcome = Outcome.UNKNOWN
    """Always ``unknown`` while ``state`` is ``sent``."""
    confirmed: bool = False
    http_status: int | None = None
    request_id: str | None = None
    cancelled: list[CancelledLine] = Field(default_factory=list)
    not_cancelled: list[NotCancelledLine] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    message: str = ""
    duration_ms: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _sent_is_unknown(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("state", AttemptState.SENT) == AttemptState.SENT:
            data = {**data, "outcome": Outcome.UNKNOWN, "confirmed": False}
        return data

    @field_validator("started_at", "finished_at", "updated_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    @property
    def settled(self) -> bool:
        """False while the outcome is ``unknown``: re-check before sending again."""
        return self.outcome.settled

    def to_public(self) -> dict[str, Any]:
        """The documented ``stopline history --json`` shape (keys in :data:`PUBLIC_FIELDS`)."""
        dumped = self.model_dump(mode="json")
        return {key: dumped[key] for key in PUBLIC_FIELDS}

    def as_request(self) -> CancelRequest:
        """The request this attempt sent (to re-check it; never to re-send blindly)."""
        return CancelRequest(
            provider=self.provider,
            order_id=self.order_id,
            reason=self.reason,
            reason_code=self.reason_code,
            items=tuple(self.items),
            operator=self.operator,
        )

    def as_outcome(self) -> CancelOutcome:
        """The recorded outcome, carrying this attempt's id (for re-check and confirm)."""
        fields: dict[str, Any] = {}
        if self.finished_at is not None:
            fields["finished_at"] = self.finished_at
        return CancelOutcome(
            provider=self.provider,
            order_id=self.order_id,
            outcome=self.outcome,
            http_status=self.http_status,
            message=self.message,
            confirmed=self.confirmed,
            cancelled=list(self.cancelled),
            not_cancelled=list(self.not_cancelled),
            warnings=list(self.warnings),
            request_id=self.request_id,
            attempt_id=self.id,
            **fields,
        )


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_BUSY if code is not None else "locked" in str(exc)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    """Fixed-width UTC ISO text, so SQL string comparison orders it correctly."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _json(values: Sequence[BaseModel] | Sequence[str]) -> str:
    return json.dumps(
        [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in values],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _create_private_file(path: Path) -> None:
    """Create the parent folders (0700) and the file (0600) if they do not exist yet."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)
    with suppress(OSError):  # not every platform honours it; the umask already narrowed it
        path.chmod(0o600)


class Journal:
    """The attempt log behind :class:`~tui.core.service.AttemptLog`, plus history queries."""

    def __init__(
        self,
        path: Path | str,
        *,
        default_operator: str = "",
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        migrations: Sequence[Migration] = MIGRATIONS,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.path = Path(path).expanduser()
        self.default_operator = default_operator
        self.busy_timeout_ms = busy_timeout_ms
        self._migrations = tuple(migrations)
        self._clock = clock
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self._closed = False
        try:
            _create_private_file(self.path)
        except OSError as exc:
            raise JournalError(f"cannot create the journal at {self.path}: {exc}") from exc
        with self._lock:
            self._conn = self._connect()
            try:
                self._migrate(self._conn)
            except BaseException:
                self._conn.close()
                self._conn = None
                raise

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> Journal:
        kwargs.setdefault("default_operator", settings.resolved_operator())
        return cls(settings.journal_path(), **kwargs)

    # -- connection ----------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout_ms / 1000,
                isolation_level=None,  # autocommit: transactions are explicit
                check_same_thread=False,  # shared across threads under self._lock
            )
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open the journal at {self.path}: {exc}") from exc
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            mode = self._enable_wal(conn)
            if str(mode).lower() != "wal":
                raise JournalError(
                    f"the journal at {self.path} cannot use WAL mode (got {mode!r}); "
                    "put STOPLINE_DATA_DIR on a local file system"
                )
            conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise JournalError(f"cannot use {self.path} as the journal: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _enable_wal(self, conn: sqlite3.Connection) -> str:
        """Switch to WAL. On a brand-new file another process may be doing the same, and
        SQLite answers that race with an immediate "locked" that skips the busy handler."""
        deadline = _time.monotonic() + self.busy_timeout_ms / 1000
        while True:
            try:
                return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or _time.monotonic() >= deadline:
                    raise
                _time.sleep(0.01 + random.random() * 0.02)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        target = len(self._migrations)
        try:
            self._check_version(conn, target)
            if conn.execute("PRAGMA user_version").fetchone()[0] == target:
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Read again under the write lock: another process may have migrated meanwhile.
                version = self._check_version(conn, target)
                for step in self._migrations[version:]:
                    if callable(step):
                        step(conn)
                    else:
                        for statement in step:
                            conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {target}")
                conn.execute("COMMIT")
            except BaseException:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise JournalError(f"cannot prepare the journal at {self.path}: {exc}") from exc

    def _check_version(self, conn: sqlite3.Connection, target: int) -> int:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if app_id not in (0, APPLICATION_ID):
            raise JournalError(f"{self.path} is an SQLite file of another application")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > target:
            raise JournalError(
                f"the journal at {self.path} has schema version {version}, newer than this "
                f"Stopline knows ({target}); upgrade Stopline or use another STOPLINE_DATA_DIR"
            )
        return version

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise JournalError("the journal is closed")
        if self._pid != os.getpid():
            # A connection must not cross fork(): abandon the parent's, open our own.
            self._conn = self._connect()
            self._pid = os.getpid()
        assert self._conn is not None
        return self._conn

    def _begin_immediate(self, conn: sqlite3.Connection) -> None:
        """Take the write lock, waiting up to ``busy_timeout`` for another writer.

        SQLite's own busy handler backs off to 100 ms sleeps, so a process writing in a
        tight loop (a batch) can starve another (the console) until the timeout. Short
        jittered retries here give every waiting process a fair turn.
        """
        deadline = _time.monotonic() + self.busy_timeout_ms / 1000
        pause = 0.0005
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if not _is_busy(exc) or _time.monotonic() >= deadline:
                        raise
                _time.sleep(random.uniform(pause / 2, pause))
                pause = min(pause * 2, 0.01)
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")

    @contextmanager
    def _write(self, *, durable: bool) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction, committed on exit or rolled back on error."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
                self._begin_immediate(conn)
            except sqlite3.Error as exc:
                raise JournalError(f"cannot write the journal at {self.path}: {exc}") from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise JournalError(f"cannot write the journal at {self.path}: {exc}") from exc
                raise

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            conn = self._connection()
            try:
                return conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise JournalError(f"cannot read the journal at {self.path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None
            self._closed = True

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- AttemptLog ----------------------------------------------------------------------------

    def begin(self, request: CancelRequest) -> int:
        """Write the attempt ahead (state ``sent``) and commit it durably; return its id."""
        items = json.dumps([{"id": i.id, "quantity": i.quantity} for i in request.items])
        with self._write(durable=True) as conn:
            cursor = conn.execute(
                "INSERT INTO attempts (started_at, operator, provider, order_id, reason,"
                " reason_code, items, state) VALUES (?, ?, ?, ?, ?, ?, ?, 'sent')",
                (
                    _stamp(self._clock()),
                    request.operator or self.default_operator,
                    request.provider,
                    request.order_id,
                    request.reason,
                    request.reason_code,
                    items,
                ),
            )
            attempt_id = cursor.lastrowid
        assert attempt_id is not None
        return attempt_id

    def finish(self, attempt_id: int, outcome: CancelOutcome, duration_ms: float) -> None:
        """Record the provider's answer. A repeated call keeps the first ``finished_at``."""
        now = _stamp(self._clock())
        with self._write(durable=False) as conn:
            cursor = conn.execute(
                "UPDATE attempts SET state = 'finished', outcome = ?, confirmed = ?,"
                " http_status = ?, request_id = ?, cancelled = ?, not_cancelled = ?,"
                " warnings = ?, message = ?, duration_ms = ?,"
                " finished_at = COALESCE(finished_at, ?),"
                " updated_at = CASE WHEN finished_at IS NULL THEN updated_at ELSE ? END"
                " WHERE id = ?",
                (*self._outcome_values(outcome), float(duration_ms), now, now, attempt_id),
            )
            if cursor.rowcount == 0:
                raise UnknownAttempt(f"no attempt {attempt_id} in the journal at {self.path}")

    def update(self, attempt_id: int, outcome: CancelOutcome) -> None:
        """Record a later confirmation or re-check; ``finished_at`` is kept as it was."""
        now = _stamp(self._clock())
        with self._write(durable=False) as conn:
            cursor = conn.execute(
                "UPDATE attempts SET state = 'finished', outcome = ?, confirmed = ?,"
                " http_status = ?, request_id = ?, cancelled = ?, not_cancelled = ?,"
                " warnings = ?, message = ?, updated_at = ? WHERE id = ?",
                (*self._outcome_values(outcome), now, attempt_id),
            )
            if cursor.rowcount == 0:
                raise UnknownAttempt(f"no attempt {attempt_id} in the journal at {self.path}")

    @staticmethod
    def _outcome_values(outcome: CancelOutcome) -> tuple[Any, ...]:
        return (
            outcome.outcome.value,
            int(outcome.confirmed),
            outcome.http_status,
            outcome.request_id,
            _json(outcome.cancelled),
            _json(outcome.not_cancelled),
            _json(outcome.warnings),
            outcome.message,
        )

    # -- queries -------------------------------------------------------------------------------

    def attempts(
        self,
        limit: int | None = 50,
        provider: str | None = None,
        order_id: str | None = None,
        since: datetime | None = None,
        outcome: Outcome | str | None = None,
    ) -> list[Attempt]:
        """Attempts newest first. ``since`` without a time zone is local time; ``limit``
        None means all. ``outcome="unknown"`` includes attempts never finished."""
        where: list[str] = []
        params: list[Any] = []
        if provider is not None:
            where.append("provider = ?")
            params.append(provider)
        if order_id is not None:
            where.append("order_id = ?")
            params.append(order_id)
        if since is not None:
            where.append("started_at >= ?")
            params.append(_stamp(since))
        if outcome is not None:
            try:
                wanted = Outcome(outcome)
            except ValueError:
                known = ", ".join(o.value for o in Outcome)
                raise InvalidInput(f"unknown outcome {outcome!r}; known: {known}") from None
            if wanted is Outcome.UNKNOWN:
                where.append("(state = 'sent' OR outcome = 'unknown')")
            else:
                where.append("(state = 'finished' AND outcome = ?)")
                params.append(wanted.value)
        sql = f"SELECT {_COLUMNS} FROM attempts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC"
        if limit is not None:
            if limit < 1:
                raise InvalidInput("limit must be at least 1")
            sql += " LIMIT ?"
            params.append(int(limit))
        return [self._attempt(row) for row in self._read(sql, params)]

    def get(self, attempt_id: int) -> Attempt | None:
        rows = self._read(f"SELECT {_COLUMNS} FROM attempts WHERE id = ?", (attempt_id,))
        return self._attempt(rows[0]) if rows else None

    def latest_for(self, provider: str, order_id: str) -> Attempt | None:
        """The most recent attempt on one order (batch resume: settled → skip, unknown →
        re-check before any new cancel)."""
        rows = self._read(
            f"SELECT {_COLUMNS} FROM attempts WHERE provider = ? AND order_id = ?"
            " ORDER BY id DESC LIMIT 1",
            (provider, order_id),
        )
        return self._attempt(rows[0]) if rows else None

    def unknown_attempts(self, provider: str | None = None) -> list[Attempt]:
        """Every attempt whose outcome is unknown (including those never finished), newest
        first. One still in flight in another process is among them."""
        return self.attempts(limit=None, provider=provider, outcome=Outcome.UNKNOWN)

    @staticmethod
    def _attempt(row: sqlite3.Row) -> Attempt:
        data = dict(row)
        for key in ("items", "cancelled", "not_cancelled", "warnings"):
            data[key] = json.loads(data[key] or "[]")
        data["confirmed"] = bool(data["confirmed"])
        if data["state"] == AttemptState.SENT or data["outcome"] is None:
            data["state"] = AttemptState.SENT
        return Attempt.model_validate(data)


# -- --since ---------------------------------------------------------------------------------

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
            return (now or _utcnow()).astimezone(UTC) - timedelta(**{_UNIT[unit]: amount})
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


__all__ = [
    "MIGRATIONS",
    "PUBLIC_FIELDS",
    "SCHEMA_VERSION",
    "Attempt",
    "AttemptState",
    "Journal",
    "JournalError",
    "Migration",
    "UnknownAttempt",
    "parse_since",
]
