"""The shared journal: one PostgreSQL database for a floor of supervisors on many machines.

The same guarantees as the SQLite journal, by the engine's own means: the claim is one
transaction — ``SELECT … FOR UPDATE`` of the open attempt on the order, then the insert —
and the unique partial index ``attempts_one_open`` refuses a second open attempt whichever
machine writes it; every write commits (durably) before the caller goes on, so the
write-ahead row is on the server before the request leaves. A journal that cannot be
reached raises :class:`JournalError`, and nothing is sent.

Identity: ``operator`` is set by the database (the session's role), never by Stopline; what
STOPLINE_OPERATOR says is stored beside it as ``display_name``.

Time is the server's. A lease is written as the server's ``now()`` plus its length, and
whether it still runs is asked of the server in every read (:attr:`Attempt.lease_live`): no
machine's clock decides whether another's attempt is over. For the rest (when an attempt
started, was sent), the journal reads the server's clock once when it opens and tells the
time as that reading plus the time elapsed since, on a clock that neither steps nor stops
while the machine sleeps (:mod:`tui.core.elapsed`).

One idea, kept whole: the shared journal on PostgreSQL (its schema and import live beside it).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tui.core.domain import CancelOutcome, CancelRequest, Order, Outcome
from tui.core.elapsed import elapsed_s
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
from tui.core.journal.postgres_schema import (
    CHANNEL,
    DEFAULT_OPERATORS_ROLE,
    MIGRATIONS,
    SCHEMA,
    bring_up_to_date,
    version_in,
)
from tui.core.journal.protocol import TakeOver
from tui.core.journal.rows import (
    OVERRULED_BY_A_LATE_ANSWER,
    attempt_from_row,
    history_query,
    late_answer_note,
    late_answer_that_overrules,
)

log = logging.getLogger("stopline.journal")

CONNECT_TIMEOUT_S = 5
SESSION_SETTINGS = (
    # A client that stops inside a transaction (frozen, or its machine gone) must not keep
    # the rows it touched locked — and every claim of those orders waiting — for hours:
    # the server ends such a transaction after a minute, and probes a silent peer's socket
    # after 30 s (3 probes 10 s apart) rather than the system's two hours.
    "SET idle_in_transaction_session_timeout = '60s'",
    "SET tcp_keepalives_idle = 30",
    "SET tcp_keepalives_interval = 10",
    "SET tcp_keepalives_count = 3",
)
CLIENT_KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}
"""The same probing from this side: a server gone silent fails a query, never hangs it."""
TABLE = f"{SCHEMA}.attempts"
CLAIM_TRIES = 5
READ_LIST = f"{SELECT_LIST}, (lease_until > now()) AS lease_live"
"""Every column, and whether the lease still runs by the server's clock as the row is read."""


async def _configure_session(conn: Any) -> None:
    """Each new connection's session settings (:data:`SESSION_SETTINGS`), one by one; one a
    server or pooler refuses is skipped — they bound failures, they are not needed to work."""
    import psycopg

    for statement in SESSION_SETTINGS:
        try:
            await conn.execute(statement)
        except psycopg.Error as exc:
            log.debug("journal: %s refused: %s", statement, exc)


def redacted_url(url: str) -> str:
    """The URL without its password (for messages)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "the shared journal"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}" if user else netloc))


def _dump(values: Sequence[Any]) -> str:
    return json.dumps(
        [v.model_dump(mode="json") if hasattr(v, "model_dump") else v for v in values],
        ensure_ascii=False,
    )


def _row(data: dict[str, Any]) -> Attempt:
    return attempt_from_row(dict(data))


class PostgresJournal:
    """:class:`~tui.core.journal.protocol.AttemptJournal` on PostgreSQL (psycopg 3, async,
    with a connection pool)."""

    def __init__(
        self,
        url: str,
        *,
        migrate: bool | None = True,
        operators_role: str = DEFAULT_OPERATORS_ROLE,
        min_size: int = 1,
        max_size: int = 8,
    ) -> None:
        """No I/O here: the pool opens on first use, on the event loop that uses it.
        ``migrate``: on connecting, bring the schema up to date (True), only check it is
        (False), or neither (None: ``stopline journal migrate`` does it itself)."""
        self.url = url
        self._where = redacted_url(url)
        self._clock_anchor: tuple[datetime, float] | None = None
        """(the server's time, :func:`elapsed_s` at that moment), read on connecting."""
        self._migrate_on_open = migrate
        self._operators_role = operators_role
        self._sizes = (min_size, max_size)
        self._pool: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Lock | None = None

    @classmethod
    async def open(cls, url: str, **kwargs: Any) -> PostgresJournal:
        """A journal already connected (see :meth:`connect`)."""
        journal = cls(url, **kwargs)
        await journal.connect()
        return journal

    @property
    def pool(self) -> Any:
        if self._pool is None:
            raise JournalError("the shared journal is not connected yet")
        return self._pool

    async def connect(self) -> None:
        """Open the pool, measure the server's clock, and bring the schema up to date (or
        check it is, when this role may not change it). Idempotent.

        A pool belongs to the event loop that opened it; a command that runs several loops in
        turn (``asyncio.run`` for a preview, then for the run) gets a new pool on each."""
        loop = asyncio.get_running_loop()
        if self._pool is not None and self._loop is loop:
            return
        if self._loop is not loop:
            self._pool, self._loop, self._opening = None, loop, None
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is not None:
                return
            from psycopg_pool import AsyncConnectionPool

            pool = AsyncConnectionPool(
                self.url,
                min_size=self._sizes[0],
                max_size=self._sizes[1],
                open=False,
                kwargs={
                    "connect_timeout": CONNECT_TIMEOUT_S,
                    "autocommit": True,
                    **CLIENT_KEEPALIVES,
                },
                configure=_configure_session,
                name="stopline-journal",
            )
            try:
                await pool.open(wait=True, timeout=CONNECT_TIMEOUT_S + 1)
            except Exception as exc:
                await pool.close()
                raise JournalError(
                    f"cannot reach the shared journal at {self.where}: {_why(exc)}"
                ) from None
            self._pool = pool
            try:
                await self._measure_clock()
                if self._migrate_on_open is not None:
                    await self.migrate(
                        apply=self._migrate_on_open, operators_role=self._operators_role
                    )
            except BaseException:
                self._pool = None
                await pool.close()
                raise

    @property
    def where(self) -> str:
        return self._where

    def now(self) -> datetime:
        """The server's time, told by the time elapsed since it was read (immune to this
        machine's clock being wrong, stepping or sleeping); this machine's clock until
        connected."""
        if self._clock_anchor is None:
            return utcnow()
        server, at = self._clock_anchor
        return server + timedelta(seconds=elapsed_s() - at)

    def _lease_s(self, lease_until: datetime) -> float:
        """``lease_until`` as a length from now: written as the server's ``now()`` plus it."""
        return (lease_until - self.now()).total_seconds()

    async def _measure_clock(self) -> None:
        async with self._connection() as conn:
            sent = elapsed_s()
            row = await (await conn.execute("SELECT now()")).fetchone()
            back = elapsed_s()
        assert row is not None
        server: datetime = row[0]
        self._clock_anchor = (server.astimezone(UTC), (sent + back) / 2)

    # -- connections -------------------------------------------------------------------------

    def _connection(self) -> Any:
        return _Guard(self)

    def connection(self) -> Any:
        """A pooled connection whose failures read as :class:`JournalError`."""
        return _Guard(self)

    # -- schema ------------------------------------------------------------------------------

    async def schema_version(self) -> int:
        async with self._connection() as conn:
            return await version_in(conn)

    async def migrate(
        self,
        *,
        apply: bool = True,
        operators_role: str = DEFAULT_OPERATORS_ROLE,
        grant: bool = False,
    ) -> int:
        """Apply the missing steps under an advisory lock (two machines starting at once
        wait for each other) and grant the operators' role its privileges; return how many
        steps were applied. Up to date, nothing is done unless ``grant``."""
        target = len(MIGRATIONS)
        version = await self.schema_version()
        if version > target:
            raise JournalError(
                f"the shared journal at {self.where} has schema version {version}, newer than "
                f"this Stopline knows ({target}); upgrade Stopline"
            )
        if version == target and not grant:
            return 0
        if version < target and not apply:
            raise JournalError(
                f"the shared journal at {self.where} needs its schema brought up to date: "
                "run `stopline journal migrate` as its owner role"
            )
        from psycopg import errors as pg_errors

        async with self._connection() as conn:
            try:
                return await bring_up_to_date(conn, operators_role)
            except pg_errors.InsufficientPrivilege as exc:
                if version == target:
                    return 0  # up to date; this role may simply not grant
                raise JournalError(
                    f"the shared journal at {self.where} needs its schema brought up to date "
                    f"and this role may not do it ({_why(exc)}): run `stopline journal "
                    "migrate` as its owner role"
                ) from None

    # -- the cancel lifecycle ----------------------------------------------------------------

    async def claim(
        self,
        request: CancelRequest,
        holder: Holder,
        *,
        lease_until: datetime,
        take_over: TakeOver,
    ) -> Claim:
        from psycopg import errors as pg_errors
        from psycopg.rows import dict_row

        for _ in range(CLAIM_TRIES):
            async with self._connection() as conn:
                try:
                    async with conn.transaction():
                        cursor = conn.cursor(row_factory=dict_row)
                        await cursor.execute(
                            f"SELECT {READ_LIST} FROM {TABLE} WHERE provider = %s"
                            " AND order_id = %s AND open FOR UPDATE",
                            (request.provider, request.order_id),
                        )
                        found = await cursor.fetchone()
                        taken_over: Attempt | None = None
                        now = self.now()
                        if found is not None:
                            current = _row(found)
                            if current.state is not AttemptState.CLAIMED or not take_over(
                                current
                            ):
                                return Claim(holder=current)
                            await conn.execute(
                                f"UPDATE {TABLE} SET state = 'withdrawn', open = false,"
                                " updated_at = %s, message = %s WHERE id = %s",
                                (
                                    now,
                                    "withdrawn: its process stopped before sending anything",
                                    current.id,
                                ),
                            )
                            taken_over = current
                        cursor = await conn.execute(
                            f"INSERT INTO {TABLE} (started_at, lease_until, display_name, host,"
                            " pid, pid_started, provider, order_id, reason, reason_code, items,"
                            " state, open) VALUES (%s,"
                            " now() + make_interval(secs => %s::float8), %s, %s, %s, %s, %s,"
                            " %s, %s, %s, %s::jsonb, 'claimed', true)"
                            " RETURNING id",
                            (
                                now,
                                self._lease_s(lease_until),
                                holder.operator,
                                holder.host,
                                holder.pid,
                                holder.pid_started,
                                request.provider,
                                request.order_id,
                                request.reason,
                                request.reason_code,
                                json.dumps(
                                    [{"id": i.id, "quantity": i.quantity} for i in request.items]
                                ),
                            ),
                        )
                        row = await cursor.fetchone()
                        assert row is not None
                        attempt_id = int(row[0])
                        cursor = conn.cursor(row_factory=dict_row)
                        await cursor.execute(
                            f"SELECT {READ_LIST} FROM {TABLE} WHERE provider = %s"
                            " AND order_id = %s AND state NOT IN ('withdrawn', 'claimed')"
                            " AND id < %s ORDER BY id DESC LIMIT 1",
                            (request.provider, request.order_id, attempt_id),
                        )
                        earlier = await cursor.fetchone()
                        return Claim(
                            attempt_id=attempt_id,
                            taken_over=taken_over,
                            earlier=_row(earlier) if earlier is not None else None,
                        )
                except pg_errors.UniqueViolation:
                    continue  # another machine claimed it between our read and insert: read it
        raise JournalError(
            f"the claim on {request.provider} order {request.order_id} kept changing hands"
        )

    async def withdraw(self, attempt_id: int, why: str) -> None:
        await self._change(
            f"UPDATE {TABLE} SET state = 'withdrawn', open = false, updated_at = %s,"
            " message = %s WHERE id = %s AND state = 'claimed'",
            (self.now(), why, attempt_id),
            attempt_id,
            "claimed",
        )

    async def mark_sent(self, attempt_id: int, before: Order, *, lease_until: datetime) -> None:
        await self._change(
            f"UPDATE {TABLE} SET state = 'sent', sent_at = %s,"
            " lease_until = now() + make_interval(secs => %s::float8),"
            " before = %s::jsonb WHERE id = %s AND state = 'claimed'",
            (self.now(), self._lease_s(lease_until), before.model_dump_json(), attempt_id),
            attempt_id,
            "claimed",
        )

    async def finish(
        self,
        attempt_id: int,
        outcome: CancelOutcome,
        duration_ms: float,
        *,
        lease_until: datetime | None = None,
        answered: bool = True,
    ) -> bool:
        now = self.now()
        async with self._connection() as conn:
            cursor = await conn.execute(
                f"UPDATE {TABLE} SET state = 'finished', outcome = %s, confirmed = %s,"
                " http_status = %s, request_id = %s, cancelled = %s::jsonb,"
                " not_cancelled = %s::jsonb, warnings = %s::jsonb, message = %s,"
                " duration_ms = %s, open = CASE WHEN %s = 'unknown' THEN open ELSE false END,"
                " finished_at = COALESCE(finished_at, %s),"
                " updated_at = CASE WHEN finished_at IS NULL THEN updated_at ELSE %s END,"
                " lease_until = LEAST(lease_until, now() + make_interval(secs => %s::float8))"
                " WHERE id = %s AND (state = 'sent' OR (state = 'finished' AND open))",
                (
                    *self._outcome_values(outcome),
                    float(duration_ms),
                    outcome.outcome.value,
                    now,
                    now,
                    None if lease_until is None else self._lease_s(lease_until),
                    attempt_id,
                ),
            )
            if cursor.rowcount:
                return True
            if not answered:  # a look-up's reading never overrules another's settlement
                await self._known(conn, attempt_id)
                return False
            # Reconciled and released by another machine meanwhile: keep its outcome, and
            # the late answer beside it — unless it says the provider cancelled what was
            # reconciled as not applied.
            overrule = late_answer_that_overrules(outcome)
            if overrule is not None:
                replaced = await conn.execute(
                    f"UPDATE {TABLE} SET outcome = %s, confirmed = %s, http_status = %s,"
                    " request_id = %s, cancelled = %s::jsonb, not_cancelled = %s::jsonb,"
                    " warnings = %s::jsonb, message = %s, updated_at = %s WHERE id = %s"
                    " AND state = 'finished' AND NOT open AND outcome = %s",
                    (
                        *self._outcome_values(overrule),
                        now,
                        attempt_id,
                        OVERRULED_BY_A_LATE_ANSWER,
                    ),
                )
                if replaced.rowcount:
                    return False
            late = await conn.execute(
                f"UPDATE {TABLE} SET warnings = warnings || jsonb_build_array(%s::text),"
                " updated_at = %s WHERE id = %s AND state = 'finished' AND NOT open",
                (late_answer_note(outcome), now, attempt_id),
            )
            if late.rowcount:
                return False
        await self._missing_or_not(attempt_id, "sent")
        return False

    async def settle(
        self,
        attempt_id: int,
        outcome: CancelOutcome,
        *,
        only_if_open: bool = False,
        if_version: int | None = None,
    ) -> bool:
        sql = (
            f"UPDATE {TABLE} SET state = 'finished', outcome = %s, confirmed = %s,"
            " http_status = %s, request_id = %s, cancelled = %s::jsonb,"
            " not_cancelled = %s::jsonb, warnings = %s::jsonb, message = %s, updated_at = %s,"
            " open = CASE WHEN %s = 'unknown' THEN open ELSE false END"
            " WHERE id = %s AND state IN ('sent', 'finished')"
        )
        params: list[Any] = [
            *self._outcome_values(outcome),
            self.now(),
            outcome.outcome.value,
            attempt_id,
        ]
        if only_if_open:
            sql += " AND open"
        if if_version is not None:
            sql += " AND version = %s"
            params.append(if_version)
        async with self._connection() as conn:
            cursor = await conn.execute(sql, params)
            if cursor.rowcount:
                return True
            if only_if_open or if_version is not None:
                await self._known(conn, attempt_id)
                return False
        await self._missing_or_not(attempt_id, "sent")
        return False

    @staticmethod
    def _outcome_values(outcome: CancelOutcome) -> tuple[Any, ...]:
        return (
            outcome.outcome.value,
            outcome.confirmed,
            outcome.http_status,
            outcome.request_id,
            _dump(outcome.cancelled),
            _dump(outcome.not_cancelled),
            _dump(outcome.warnings),
            outcome.message,
        )

    async def _change(
        self, sql: str, params: Sequence[Any], attempt_id: int, wanted: str
    ) -> None:
        async with self._connection() as conn:
            cursor = await conn.execute(sql, params)
            if cursor.rowcount:
                return
        await self._missing_or_not(attempt_id, wanted)

    async def _known(self, conn: Any, attempt_id: int) -> None:
        """:class:`UnknownAttempt` unless the journal holds attempt ``attempt_id``."""
        found = await (
            await conn.execute(f"SELECT 1 FROM {TABLE} WHERE id = %s", (attempt_id,))
        ).fetchone()
        if found is None:
            raise UnknownAttempt(f"no attempt {attempt_id} in {self.where}")

    async def _missing_or_not(self, attempt_id: int, wanted: str) -> None:
        async with self._connection() as conn:
            row = await (
                await conn.execute(f"SELECT state FROM {TABLE} WHERE id = %s", (attempt_id,))
            ).fetchone()
        if row is None:
            raise UnknownAttempt(f"no attempt {attempt_id} in the shared journal")
        raise JournalError(
            f"attempt {attempt_id} is {row[0]}, not {wanted}: another process changed it"
        )

    # -- reads -------------------------------------------------------------------------------

    async def _select(self, where: str, params: Sequence[Any], tail: str = "") -> list[Attempt]:
        from psycopg.rows import dict_row

        async with self._connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(f"SELECT {READ_LIST} FROM {TABLE} WHERE {where} {tail}", params)
            return [_row(row) for row in await cursor.fetchall()]

    async def get(self, attempt_id: int) -> Attempt | None:
        found = await self._select("id = %s", (attempt_id,))
        return found[0] if found else None

    async def open_attempt(self, provider: str, order_id: str) -> Attempt | None:
        found = await self._select("provider = %s AND order_id = %s AND open", (provider, order_id))
        return found[0] if found else None

    async def latest_for(
        self, provider: str, order_id: str, *, before_id: int | None = None
    ) -> Attempt | None:
        where = "provider = %s AND order_id = %s AND state NOT IN ('withdrawn', 'claimed')"
        params: list[Any] = [provider, order_id]
        if before_id is not None:
            where += " AND id < %s"
            params.append(before_id)
        found = await self._select(where, params, "ORDER BY id DESC LIMIT 1")
        return found[0] if found else None

    async def latest_for_many(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], Attempt | None]:
        result: dict[tuple[str, str], Attempt | None] = {tuple(k): None for k in keys}  # type: ignore[misc]
        if not keys:
            return result
        providers = [k[0] for k in keys]
        orders = [k[1] for k in keys]
        found = await self._select(
            "id IN (SELECT max(a.id) FROM stopline.attempts a"
            " JOIN unnest(%s::text[], %s::text[]) AS k(provider, order_id)"
            " ON a.provider = k.provider AND a.order_id = k.order_id"
            " WHERE a.state NOT IN ('withdrawn', 'claimed') GROUP BY a.provider, a.order_id)",
            (providers, orders),
        )
        for attempt in found:
            result[(attempt.provider, attempt.order_id)] = attempt
        return result

    async def attempts(
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
        where, tail, params = history_query(
            limit,
            provider,
            order_id,
            since,
            outcome,
            open_only,
            mark="%s",
            after=(after.started_at, after.id) if after is not None else None,
        )
        return await self._select(where, params, tail)

    async def import_attempts(self, attempts: Sequence[Attempt], origin: str) -> tuple[int, int]:
        """Copy a local journal's attempts here, each once (see :mod:`postgres_import`)."""
        from tui.core.journal.postgres_import import import_attempts

        return await import_attempts(self, attempts, origin)

    async def changed_since(self, version: int, limit: int = 500) -> list[Attempt]:
        """Attempts written after ``version`` (oldest change first)."""
        return await self._select("version > %s", (version,), f"ORDER BY version LIMIT {limit}")

    async def current_version(self) -> int:
        async with self._connection() as conn:
            row = await (
                await conn.execute(f"SELECT COALESCE(max(version), 0) FROM {TABLE}")
            ).fetchone()
        return int(row[0]) if row else 0

    async def watch(self, poll_s: float = 1.0) -> AsyncIterator[Attempt]:
        """Every attempt as it is written by anyone: ``LISTEN`` on a connection of its own
        (the row id arrives; the row is re-read), or polling by ``version`` when the server
        (or a pooler in front of it) cannot deliver notifications."""
        import psycopg

        last = await self.current_version()
        try:
            conn = await psycopg.AsyncConnection.connect(
                self.url,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_S,
                **CLIENT_KEEPALIVES,
            )
            await _configure_session(conn)
        except psycopg.Error:
            conn = None
        if conn is not None:
            try:
                await conn.execute(f"LISTEN {CHANNEL}")
                while True:
                    # Notifications carry ids; read by version so nothing is missed between
                    # them (and a burst is read once).
                    # A notification wakes it at once; the timeout is only a safety net.
                    async for _ in conn.notifies(timeout=max(poll_s, 5.0), stop_after=1):
                        pass
                    for attempt in await self.changed_since(last):
                        last = max(last, attempt.version)
                        yield attempt
            finally:
                await conn.close()
        while True:  # pragma: no cover - only without LISTEN
            await asyncio.sleep(poll_s)
            for attempt in await self.changed_since(last):
                last = max(last, attempt.version)
                yield attempt

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


class _Guard:
    """A pooled connection whose failures read as :class:`JournalError` (nothing sent)."""

    def __init__(self, journal: PostgresJournal) -> None:
        self.journal = journal
        self._cm: Any = None

    async def __aenter__(self) -> Any:
        import psycopg
        from psycopg_pool import PoolTimeout

        await self.journal.connect()
        self._cm = self.journal.pool.connection(timeout=CONNECT_TIMEOUT_S)
        try:
            return await self._cm.__aenter__()
        except (psycopg.Error, PoolTimeout) as exc:
            raise JournalError(
                f"cannot reach the shared journal at {self.journal.where}: {_why(exc)}"
            ) from None

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        import psycopg

        try:
            await self._cm.__aexit__(exc_type, exc, tb)
        except psycopg.Error as error:
            raise JournalError(
                f"the shared journal at {self.journal.where}: {_why(error)}"
            ) from None
        if isinstance(exc, psycopg.errors.UniqueViolation):
            return False  # the claim's own retry handles it
        if isinstance(exc, psycopg.Error):
            raise JournalError(
                f"the shared journal at {self.journal.where}: {_why(exc)}"
            ) from None
        return False
