"""The journal's fields, defined once for both engines.

Each engine renders them in its own SQL (:func:`sqlite_type`, :func:`postgres_type`); the
SQLite migrations are frozen steps, and a test checks that applying them yields exactly
these columns, so the two engines cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["id", "text", "int", "real", "time", "json", "flag", "state", "outcome"]

STATES = ("claimed", "sent", "finished", "withdrawn")
OUTCOMES = ("complete", "partial", "refused", "not_found", "unknown", "error")


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = False
    default: str | None = None
    """A literal default (same text in both engines), when the column has one."""


COLUMNS: tuple[Column, ...] = (
    Column("id", "id", required=True),
    Column("started_at", "time", required=True),
    Column("sent_at", "time"),
    Column("finished_at", "time"),
    Column("updated_at", "time"),
    Column("lease_until", "time"),
    Column("operator", "text", required=True),
    Column("display_name", "text", required=True, default="''"),
    Column("host", "text", required=True, default="''"),
    Column("pid", "int"),
    Column("pid_started", "real"),
    Column("provider", "text", required=True),
    Column("order_id", "text", required=True),
    Column("reason", "text", required=True),
    Column("reason_code", "text"),
    Column("items", "json", required=True, default="'[]'"),
    Column("state", "state", required=True, default="'claimed'"),
    Column("open", "flag", required=True),
    Column("outcome", "outcome"),
    Column("confirmed", "flag", required=True),
    Column("http_status", "int"),
    Column("request_id", "text"),
    Column("cancelled", "json", required=True, default="'[]'"),
    Column("not_cancelled", "json", required=True, default="'[]'"),
    Column("warnings", "json", required=True, default="'[]'"),
    Column("message", "text", required=True, default="''"),
    Column("duration_ms", "real"),
    Column("before", "json"),
    Column("version", "int", required=True, default="0"),
    Column("origin", "text"),
)
"""Every column of ``attempts``, in order."""

NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
JSON_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.kind == "json")
SELECT_LIST = ", ".join(NAMES)


def sqlite_type(column: Column) -> str:
    return {
        "id": "INTEGER",
        "text": "TEXT",
        "int": "INTEGER",
        "real": "REAL",
        "time": "TEXT",
        "json": "TEXT",
        "flag": "INTEGER",
        "state": "TEXT",
        "outcome": "TEXT",
    }[column.kind]


def postgres_type(column: Column) -> str:
    return {
        "id": "bigint",
        "text": "text",
        "int": "bigint",
        "real": "double precision",
        "time": "timestamptz",
        "json": "jsonb",
        "flag": "boolean",
        "state": "text",
        "outcome": "text",
    }[column.kind]


def postgres_column(column: Column) -> str:
    """One column of ``CREATE TABLE`` for PostgreSQL."""
    if column.kind == "id":
        return f"{column.name} bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
    parts = [column.name, postgres_type(column)]
    if column.required:
        parts.append("NOT NULL")
    if column.name == "operator":
        # The database vouches for who wrote a row: the role of the session, never a value
        # the client sends (operators have no INSERT or UPDATE privilege on this column).
        parts.append("DEFAULT session_user")
    elif column.kind == "flag":
        parts.append("DEFAULT false")
    elif column.default is not None:
        default = column.default
        parts.append(f"DEFAULT {default}::jsonb" if column.kind == "json" else f"DEFAULT {default}")
    if column.kind == "state":
        parts.append(f"CHECK ({column.name} IN ({', '.join(repr(s) for s in STATES)}))")
    if column.kind == "outcome":
        parts.append(
            f"CHECK ({column.name} IS NULL OR {column.name} IN "
            f"({', '.join(repr(o) for o in OUTCOMES)}))"
        )
    return " ".join(parts)
