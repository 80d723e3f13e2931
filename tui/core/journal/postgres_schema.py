"""The shared journal's schema steps on PostgreSQL, applied under an advisory lock.

Everything lives in the schema ``stopline``: ``attempts`` (rendered from
:mod:`tui.core.journal.fields`), ``journal_meta`` (the schema version), a sequence for
``version`` and two triggers. The BEFORE trigger is the database vouching for identity: it
sets ``operator`` to the session's role on every insert and keeps it on every update, and
stamps ``version``; the AFTER trigger notifies ``stopline_attempts`` with the row's id, so
consoles re-read it live. Operators (the group role, ``stopline_operators`` by default) get
SELECT, INSERT and UPDATE of the lifecycle's columns only — never DELETE, never
``operator``, ``id`` or ``version``.
"""

from __future__ import annotations

from typing import Any

from tui.core.journal.fields import (
    COLUMNS,
    INSERTED_BY_CLAIM,
    UPDATED_BY_LIFECYCLE,
    postgres_column,
)

SCHEMA = "stopline"
CHANNEL = "stopline_attempts"
LOCK_KEY = 0x53544C4E  # "STLN": the advisory lock two machines migrating at once share
DEFAULT_OPERATORS_ROLE = "stopline_operators"

INSERTABLE = INSERTED_BY_CLAIM
"""Columns an operator may give when claiming (``operator``, ``id``, ``version``: never)."""
UPDATABLE = UPDATED_BY_LIFECYCLE
"""Columns the lifecycle's statements change after the claim."""


def _v1() -> tuple[str, ...]:
    columns = ",\n    ".join(postgres_column(c) for c in COLUMNS)
    return (
        f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
        f"CREATE TABLE {SCHEMA}.journal_meta (key text PRIMARY KEY, value text NOT NULL)",
        f"CREATE SEQUENCE {SCHEMA}.attempt_versions",
        f"CREATE TABLE {SCHEMA}.attempts (\n    {columns}\n)",
        f"CREATE INDEX attempts_by_order ON {SCHEMA}.attempts (provider, order_id, id)",
        f"CREATE INDEX attempts_by_order_id ON {SCHEMA}.attempts (order_id, id)",
        f"CREATE INDEX attempts_by_start ON {SCHEMA}.attempts (started_at)",
        f"CREATE INDEX attempts_by_version ON {SCHEMA}.attempts (version)",
        f"CREATE UNIQUE INDEX attempts_one_open ON {SCHEMA}.attempts (provider, order_id)"
        " WHERE open",
        # An attempt imported from a local journal, once: ``stopline journal import`` is
        # idempotent.
        f"CREATE UNIQUE INDEX attempts_by_origin ON {SCHEMA}.attempts (origin)",
        f"""
        CREATE FUNCTION {SCHEMA}.attempts_stamp() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {SCHEMA} AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                NEW.operator := session_user;
            ELSE
                NEW.operator := OLD.operator;
            END IF;
            NEW.version := nextval('{SCHEMA}.attempt_versions');
            RETURN NEW;
        END $$
        """,
        f"""
        CREATE TRIGGER attempts_stamp BEFORE INSERT OR UPDATE ON {SCHEMA}.attempts
        FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.attempts_stamp()
        """,
        f"""
        CREATE FUNCTION {SCHEMA}.attempts_notify() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', NEW.id::text);
            RETURN NULL;
        END $$
        """,
        f"""
        CREATE TRIGGER attempts_notify AFTER INSERT OR UPDATE ON {SCHEMA}.attempts
        FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.attempts_notify()
        """,
    )


_V2 = (
    # 2: history at any size (as SQLite's step 4): ``--since`` ranges over (started_at, id),
    # the latest start first, from an index that serves both.
    f"CREATE INDEX attempts_by_start_id ON {SCHEMA}.attempts (started_at, id)",
    f"DROP INDEX {SCHEMA}.attempts_by_start",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_v1(), _V2)
"""Step 1 renders :data:`~tui.core.journal.fields.COLUMNS` as they were at schema 1; a
column added later is a new step here and in ``sqlite_schema`` (a test compares both engines'
columns with ``COLUMNS``)."""
SCHEMA_VERSION = len(MIGRATIONS)


def grants(role: str) -> tuple[str, ...]:
    """What the operators' group role may do: read, claim, and move attempts through the
    lifecycle. Re-run by every migration (idempotent)."""
    quoted = '"' + role.replace('"', '""') + '"'
    return (
        f"GRANT USAGE ON SCHEMA {SCHEMA} TO {quoted}",
        f"GRANT SELECT ON {SCHEMA}.attempts, {SCHEMA}.journal_meta TO {quoted}",
        f"GRANT INSERT ({', '.join(INSERTABLE)}) ON {SCHEMA}.attempts TO {quoted}",
        f"GRANT UPDATE ({', '.join(UPDATABLE)}) ON {SCHEMA}.attempts TO {quoted}",
    )


async def version_in(conn: Any) -> int:
    """The schema version of the database ``conn`` is connected to (0: none yet).

    The catalog is read as a table, under the statement's snapshot: ``to_regclass`` answers
    from a cache that may not yet know of a table another machine has just created."""
    exists = await (
        await conn.execute(
            "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = %s AND tablename = %s",
            (SCHEMA, "journal_meta"),
        )
    ).fetchone()
    if exists is None:
        return 0
    row = await (
        await conn.execute(f"SELECT value FROM {SCHEMA}.journal_meta WHERE key = 'schema_version'")
    ).fetchone()
    return int(row[0]) if row else 0


async def bring_up_to_date(conn: Any, operators_role: str) -> int:
    """In one transaction, under the advisory lock: apply the steps the database lacks,
    record the version, grant the operators' role (when it exists). Returns the steps
    applied. Raises psycopg's ``InsufficientPrivilege`` for a role that may not."""
    target = len(MIGRATIONS)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        version = await version_in(conn)
        for step in MIGRATIONS[version:]:
            for statement in step:
                await conn.execute(statement)
        await conn.execute(
            f"INSERT INTO {SCHEMA}.journal_meta (key, value) VALUES ('schema_version', %s)"
            " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (str(target),),
        )
        role = await (
            await conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (operators_role,))
        ).fetchone()
        if role is not None:
            for statement in grants(operators_role):
                await conn.execute(statement)
    return target - version
