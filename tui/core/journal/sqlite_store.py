"""The embedded journal: one SQLite file (WAL mode) per data folder, shared by every Stopline
process on the machine.

:class:`SqliteStore` is the blocking store (any thread may use it); :class:`SqliteJournal`
is the :class:`~tui.core.journal.protocol.AttemptJournal` the service uses, running every
call on one thread of its own so the event loop never waits for the file's write lock.

Concurrency: one connection per store, guarded by a lock; every write is one ``BEGIN
IMMEDIATE`` transaction, and WAL plus a busy timeout let several processes share the file.
A claim is one such transaction: it reads the open attempt on the order, if any, and inserts
the new one; the unique index ``attempts_one_open`` refuses a second open attempt even if
this code were wrong. A forked child opens its own connection.

Durability: the write-ahead (``mark_sent``) is committed with ``synchronous=FULL`` — fsynced
before the request may leave; the rest use ``NORMAL``: losing a completion to a power cut
leaves the attempt ``unknown`` and open, the safe direction.

Only request and outcome fields are stored; nothing from the settings (no credential, token
or URL) ever reaches this module.

One idea, kept whole: the SQLite store, its transactions and its queries.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time as _time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

from tui.core.domain import CancelOutcome, CancelRequest, Order, Outcome
from tui.core.journal.fields import SELECT_LIST
from tui.core.journal.model import (
    Attempt,
    AttemptState,
    Claim,
    Holder,
    JournalError,
    UnknownAttempt,
    utcnow,
)
from tui.core.journal.protocol import TakeOver
from tui.core.journal.rows import (
    OVERRULED_BY_A_LATE_ANSWER,
    attempt_from_row,
    dump_items,
    history_query,
    late_answer_note,
    late_answer_that_overrules,
    outcome_values,
    stamp,
)
from tui.core.journal.sqlite_schema import APPLICATION_ID, MIGRATIONS, Migration

DEFAULT_BUSY_TIMEOUT_MS = 5000
T = TypeVar("T")

WriteOperation = Literal["claim", "withdraw", "mark_sent", "finish", "settle"]
DURABLE: frozenset[str] = frozenset({"mark_sent"})
"""Writes whose commit is fsynced before they return: the write-ahead."""


class _WriteFailed(Exception):
    """A write of a group run in one savepoint failed: the group runs again, a savepoint each."""


@dataclass(frozen=True)
class GroupedWrite:
    """One write of :meth:`SqliteStore.write_group`: the method's name and its arguments."""

    operation: WriteOperation
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

_COLUMNS = SELECT_LIST
_NEXT_VERSION = "(SELECT COALESCE(MAX(version), 0) + 1 FROM attempts)"
"""Every write stamps the row it changes (writes are serialised by ``BEGIN IMMEDIATE``)."""


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_BUSY if code is not None else "locked" in str(exc)


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


class SqliteStore:
    """The blocking SQLite store behind :class:`SqliteJournal` (and ``stopline history``)."""

    def __init__(
        self,
        path: Path | str,
        *,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        migrations: Sequence[Migration] = MIGRATIONS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        # Resolved: one file is one journal however it is spelt (a symlink, a relative
        # path) — this process's claims on it are told apart by it.
        self.path = Path(path).expanduser().resolve()
        self.busy_timeout_ms = busy_timeout_ms
        self._migrations = tuple(migrations)
        self._clock = clock
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self._closed = False
        self._synchronous = "FULL"
        try:
            _create_private_file(self.path)
        except OSError as exc:
            raise JournalError(f"cannot create the journal at {self.path}: {exc}") from exc
        with self._lock:
            self._conn = self._connect()
            try:
                self._migrate(self._conn)
                self._settle_connection(self._conn)
            except BaseException:
                self._conn.close()
                self._conn = None
                raise

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
            self._begin_immediate(conn)
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
            self._settle_connection(self._conn)
            self._pid = os.getpid()
        assert self._conn is not None
        return self._conn

    def _begin_immediate(self, conn: sqlite3.Connection) -> None:
        """Take the write lock, waiting up to ``busy_timeout`` for another writer.

        SQLite's own busy handler backs off to 100 ms sleeps, so a process writing in a
        tight loop (a batch) can starve another (the console) until the timeout. Short
        jittered retries here give every waiting process a fair turn. (The connection's
        own busy timeout is 0 between calls, see :meth:`_settle_connection`.)
        """
        self._retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))

    def _retry_busy(self, step: Callable[[], T]) -> T:
        """``step`` again after short jittered pauses while the file is busy, up to
        ``busy_timeout``."""
        deadline = _time.monotonic() + self.busy_timeout_ms / 1000
        pause = 0.0005
        while True:
            try:
                return step()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or _time.monotonic() >= deadline:
                    raise
            _time.sleep(random.uniform(pause / 2, pause))
            pause = min(pause * 2, 0.01)

    def _settle_connection(self, conn: sqlite3.Connection) -> None:
        """The steady state between calls: SQLite's busy handler off (waits are ours, see
        :meth:`_retry_busy`) and ``synchronous`` as last set. Each statement is a trip out of
        the interpreter lock, so a write does not pay two PRAGMAs to toggle the timeout."""
        conn.execute("PRAGMA busy_timeout = 0")
        conn.execute("PRAGMA synchronous = FULL")
        self._synchronous = "FULL"

    @contextmanager
    def _write(self, *, durable: bool) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction, committed on exit or rolled back on error."""
        with self._lock:
            conn = self._connection()
            try:
                wanted = "FULL" if durable else "NORMAL"
                if self._synchronous != wanted:
                    conn.execute(f"PRAGMA synchronous = {wanted}")
                    self._synchronous = wanted
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
                return self._retry_busy(lambda: conn.execute(sql, params).fetchall())
            except sqlite3.Error as exc:
                raise JournalError(f"cannot read the journal at {self.path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None
            self._closed = True

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the cancel lifecycle ------------------------------------------------------------------
    #
    # Each write is a body run inside a transaction it is given: one call, one transaction
    # (the public methods), or many calls in one transaction (``write_group``, the journal
    # thread's group commit).

    def claim(
        self,
        request: CancelRequest,
        holder: Holder,
        *,
        lease_until: datetime,
        take_over: TakeOver,
    ) -> Claim:
        with self._write(durable=False) as conn:
            return self._claim(
                conn, request, holder, lease_until=lease_until, take_over=take_over
            )

    def withdraw(self, attempt_id: int, why: str) -> None:
        with self._write(durable=False) as conn:
            self._withdraw(conn, attempt_id, why)

    def mark_sent(self, attempt_id: int, before: Order, *, lease_until: datetime) -> None:
        with self._write(durable=True) as conn:
            self._mark_sent(conn, attempt_id, before, lease_until=lease_until)

    def finish(
        self,
        attempt_id: int,
        outcome: CancelOutcome,
        duration_ms: float,
        *,
        lease_until: datetime | None = None,
        answered: bool = True,
    ) -> bool:
        """Record the provider's answer (a repeated call keeps the first ``finished_at``).
        An attempt another process reconciled and released meanwhile keeps that outcome —
        unless it was reconciled as not applied and the provider answers that it cancelled —
        the late answer beside it, and False returned; an outcome read from a look-up
        (``answered=False``) changes nothing then. ``lease_until`` shortens the lease."""
        with self._write(durable=False) as conn:
            return self._finish(
                conn,
                attempt_id,
                outcome,
                duration_ms,
                lease_until=lease_until,
                answered=answered,
            )

    def settle(
        self,
        attempt_id: int,
        outcome: CancelOutcome,
        *,
        only_if_open: bool = False,
        if_version: int | None = None,
    ) -> bool:
        with self._write(durable=False) as conn:
            return self._settle(
                conn, attempt_id, outcome, only_if_open=only_if_open, if_version=if_version
            )

    def write_group(self, calls: Sequence[GroupedWrite]) -> list[Any]:
        """Run several writes in ONE transaction and commit once — durably
        (``synchronous=FULL``) when any of them must be (a write-ahead). A write that fails
        is rolled back alone and its exception is its result; the others stand. No result
        counts before the commit: if it fails, it raises for all of them (a single write's
        failure, commit included, is its result).

        Writes almost never fail, so the group first runs in one savepoint for all (two
        statements a group instead of two a write, each a trip out of the interpreter lock);
        only if a write fails is that savepoint rolled back and the group run again, in the
        same transaction, with a savepoint each.
        """
        durable = any(call.operation in DURABLE for call in calls)
        if len(calls) == 1:  # its own transaction is its savepoint
            call = calls[0]
            try:
                with self._write(durable=durable) as conn:
                    return [getattr(self, f"_{call.operation}")(conn, *call.args, **call.kwargs)]
            except Exception as exc:
                return [exc]
        with self._write(durable=durable) as conn:
            conn.execute("SAVEPOINT whole_group")
            try:
                results = [self._run_write(conn, call) for call in calls]
            except _WriteFailed:
                # Undone whole, the write lock still held: again, a savepoint each.
                conn.execute("ROLLBACK TO whole_group")
                results = [self._run_write_alone(conn, call) for call in calls]
            conn.execute("RELEASE whole_group")
        return results

    def _run_write(self, conn: sqlite3.Connection, call: GroupedWrite) -> Any:
        try:
            return getattr(self, f"_{call.operation}")(conn, *call.args, **call.kwargs)
        except Exception as exc:
            raise _WriteFailed from exc

    def _run_write_alone(self, conn: sqlite3.Connection, call: GroupedWrite) -> Any:
        """``call`` in a savepoint of its own: its failure, undone, is its result."""
        conn.execute("SAVEPOINT one_call")
        try:
            result = getattr(self, f"_{call.operation}")(conn, *call.args, **call.kwargs)
        except Exception as exc:
            conn.execute("ROLLBACK TO one_call")
            if isinstance(exc, sqlite3.Error):
                exc = JournalError(f"cannot write the journal at {self.path}: {exc}")
            result = exc
        conn.execute("RELEASE one_call")
        return result

    def _claim(
        self,
        conn: sqlite3.Connection,
        request: CancelRequest,
        holder: Holder,
        *,
        lease_until: datetime,
        take_over: TakeOver,
    ) -> Claim:
        now = stamp(self._clock())
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM attempts WHERE provider = ? AND order_id = ?"
            " AND open = 1",
            (request.provider, request.order_id),
        ).fetchone()
        taken_over: Attempt | None = None
        if row is not None:
            current = attempt_from_row(dict(row))
            if current.state is not AttemptState.CLAIMED or not take_over(current):
                return Claim(holder=current)
            conn.execute(
                "UPDATE attempts SET state = 'withdrawn', open = 0, updated_at = ?,"
                f" message = ?, version = {_NEXT_VERSION} WHERE id = ?",
                (now, "withdrawn: its process stopped before sending anything", current.id),
            )
            taken_over = current
        cursor = conn.execute(
            "INSERT INTO attempts (started_at, lease_until, operator, display_name, host,"
            " pid, pid_started, provider, order_id, reason, reason_code, items, state,"
            f" open, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'claimed', 1,"
            f" {_NEXT_VERSION})",
            (
                now,
                stamp(lease_until),
                holder.operator,
                holder.operator,
                holder.host,
                holder.pid,
                holder.pid_started,
                request.provider,
                request.order_id,
                request.reason,
                request.reason_code,
                dump_items(request),
            ),
        )
        assert cursor.lastrowid is not None
        earlier = conn.execute(
            f"SELECT {_COLUMNS} FROM attempts WHERE provider = ? AND order_id = ?"
            " AND state NOT IN ('withdrawn', 'claimed') AND id < ? ORDER BY id DESC LIMIT 1",
            (request.provider, request.order_id, cursor.lastrowid),
        ).fetchone()
        return Claim(
            attempt_id=cursor.lastrowid,
            taken_over=taken_over,
            earlier=attempt_from_row(dict(earlier)) if earlier is not None else None,
        )

    def _withdraw(self, conn: sqlite3.Connection, attempt_id: int, why: str) -> None:
        cursor = conn.execute(
            "UPDATE attempts SET state = 'withdrawn', open = 0, updated_at = ?, message = ?,"
            f" version = {_NEXT_VERSION} WHERE id = ? AND state = 'claimed'",
            (stamp(self._clock()), why, attempt_id),
        )
        if cursor.rowcount == 0:
            self._missing_or_not(conn, attempt_id, "claimed")

    def _mark_sent(
        self, conn: sqlite3.Connection, attempt_id: int, before: Order, *, lease_until: datetime
    ) -> None:
        cursor = conn.execute(
            "UPDATE attempts SET state = 'sent', sent_at = ?, lease_until = ?, before = ?,"
            f" version = {_NEXT_VERSION} WHERE id = ? AND state = 'claimed'",
            (stamp(self._clock()), stamp(lease_until), before.model_dump_json(), attempt_id),
        )
        if cursor.rowcount == 0:
            self._missing_or_not(conn, attempt_id, "claimed")

    def _finish(
        self,
        conn: sqlite3.Connection,
        attempt_id: int,
        outcome: CancelOutcome,
        duration_ms: float,
        *,
        lease_until: datetime | None = None,
        answered: bool = True,
    ) -> bool:
        now = stamp(self._clock())
        shorter = stamp(lease_until) if lease_until is not None else None
        cursor = conn.execute(
            "UPDATE attempts SET state = 'finished', outcome = ?, confirmed = ?,"
            " http_status = ?, request_id = ?, cancelled = ?, not_cancelled = ?,"
            " warnings = ?, message = ?, duration_ms = ?,"
            " open = CASE WHEN ? = 'unknown' THEN open ELSE 0 END,"
            f" version = {_NEXT_VERSION},"
            " finished_at = COALESCE(finished_at, ?),"
            " updated_at = CASE WHEN finished_at IS NULL THEN updated_at ELSE ? END,"
            " lease_until = CASE WHEN ? IS NOT NULL AND (lease_until IS NULL OR ? < lease_until)"
            " THEN ? ELSE lease_until END"
            " WHERE id = ? AND (state = 'sent' OR (state = 'finished' AND open = 1))",
            (
                *outcome_values(outcome),
                float(duration_ms),
                outcome.outcome.value,
                now,
                now,
                shorter,
                shorter,
                shorter,
                attempt_id,
            ),
        )
        if cursor.rowcount:
            return True
        if not answered:  # a look-up's reading never overrules another's settlement
            self._known(conn, attempt_id)
            return False
        overrule = late_answer_that_overrules(outcome)
        if overrule is not None:
            replaced = conn.execute(
                "UPDATE attempts SET outcome = ?, confirmed = ?, http_status = ?,"
                " request_id = ?, cancelled = ?, not_cancelled = ?, warnings = ?, message = ?,"
                f" updated_at = ?, version = {_NEXT_VERSION} WHERE id = ?"
                " AND state = 'finished' AND open = 0 AND outcome = ?",
                (*outcome_values(overrule), now, attempt_id, OVERRULED_BY_A_LATE_ANSWER),
            )
            if replaced.rowcount:
                return False
        late = conn.execute(
            "UPDATE attempts SET warnings = json_insert(warnings, '$[#]', ?),"
            f" updated_at = ?, version = {_NEXT_VERSION}"
            " WHERE id = ? AND state = 'finished' AND open = 0",
            (late_answer_note(outcome), now, attempt_id),
        )
        if late.rowcount == 0:
            self._missing_or_not(conn, attempt_id, "sent")
        return False

    def _settle(
        self,
        conn: sqlite3.Connection,
        attempt_id: int,
        outcome: CancelOutcome,
        *,
        only_if_open: bool = False,
        if_version: int | None = None,
    ) -> bool:
        now = stamp(self._clock())
        sql = (
            "UPDATE attempts SET state = 'finished', outcome = ?, confirmed = ?,"
            " http_status = ?, request_id = ?, cancelled = ?, not_cancelled = ?,"
            " warnings = ?, message = ?, updated_at = ?,"
            " open = CASE WHEN ? = 'unknown' THEN open ELSE 0 END,"
            f" version = {_NEXT_VERSION}"
            " WHERE id = ? AND state IN ('sent', 'finished')"
        )
        params: list[Any] = [*outcome_values(outcome), now, outcome.outcome.value, attempt_id]
        if only_if_open:
            sql += " AND open = 1"
        if if_version is not None:
            sql += " AND version = ?"
            params.append(if_version)
        cursor = conn.execute(sql, params)
        if cursor.rowcount == 0:
            if only_if_open or if_version is not None:
                self._known(conn, attempt_id)
                return False
            self._missing_or_not(conn, attempt_id, "sent")
        return True

    def _known(self, conn: sqlite3.Connection, attempt_id: int) -> None:
        """:class:`UnknownAttempt` unless the journal holds attempt ``attempt_id``."""
        if conn.execute("SELECT 1 FROM attempts WHERE id = ?", (attempt_id,)).fetchone() is None:
            raise UnknownAttempt(f"no attempt {attempt_id} in {self.path}")

    def _missing_or_not(self, conn: sqlite3.Connection, attempt_id: int, wanted: str) -> None:
        row = conn.execute("SELECT state FROM attempts WHERE id = ?", (attempt_id,)).fetchone()
        if row is None:
            raise UnknownAttempt(f"no attempt {attempt_id} in the journal at {self.path}")
        raise JournalError(
            f"attempt {attempt_id} is {row['state']}, not {wanted}: another process changed it"
        )

    # -- reads ---------------------------------------------------------------------------------

    def get(self, attempt_id: int) -> Attempt | None:
        rows = self._read(f"SELECT {_COLUMNS} FROM attempts WHERE id = ?", (attempt_id,))
        return attempt_from_row(dict(rows[0])) if rows else None

    def open_attempt(self, provider: str, order_id: str) -> Attempt | None:
        rows = self._read(
            f"SELECT {_COLUMNS} FROM attempts WHERE provider = ? AND order_id = ? AND open = 1",
            (provider, order_id),
        )
        return attempt_from_row(dict(rows[0])) if rows else None

    def latest_for(
        self, provider: str, order_id: str, *, before_id: int | None = None
    ) -> Attempt | None:
        sql = (
            f"SELECT {_COLUMNS} FROM attempts WHERE provider = ? AND order_id = ?"
            " AND state NOT IN ('withdrawn', 'claimed')"
        )
        params: list[Any] = [provider, order_id]
        if before_id is not None:
            sql += " AND id < ?"
            params.append(before_id)
        rows = self._read(sql + " ORDER BY id DESC LIMIT 1", params)
        return attempt_from_row(dict(rows[0])) if rows else None

    def latest_for_many(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], Attempt | None]:
        return {key: self.latest_for(*key) for key in keys}

    def current_version(self) -> int:
        rows = self._read("SELECT COALESCE(MAX(version), 0) FROM attempts")
        return int(rows[0][0])

    def changed_since(self, version: int, limit: int = 500) -> list[Attempt]:
        rows = self._read(
            f"SELECT {_COLUMNS} FROM attempts WHERE version > ? ORDER BY version LIMIT ?",
            (version, limit),
        )
        return [attempt_from_row(dict(row)) for row in rows]

    def attempts(
        self,
        limit: int | None = 50,
        provider: str | None = None,
        order_id: str | None = None,
        since: datetime | None = None,
        outcome: Outcome | str | None = None,
        *,
        open_only: bool = False,
        after: Attempt | None = None,
    ) -> list[Attempt]:
        """Attempts newest first (withdrawn claims left out). ``outcome="unknown"`` includes
        attempts never finished. ``after``: the page after that attempt (keyset paging)."""
        where, tail, params = history_query(
            limit,
            provider,
            order_id,
            stamp(since) if since is not None else None,
            outcome,
            open_only,
            mark="?",
            after=(stamp(after.started_at), after.id) if after is not None else None,
        )
        sql = f"SELECT {_COLUMNS} FROM attempts WHERE {where} {tail}"
        return [attempt_from_row(dict(row)) for row in self._read(sql, params)]


