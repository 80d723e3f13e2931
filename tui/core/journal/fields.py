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


SetBy = Literal["claim", "lifecycle", "database", "import"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    set_by: SetBy = "lifecycle"
    """Who writes it: the claim (inserted with it), the lifecycle's later statements, the
    database itself (the id, the operator, the version), or an import only."""
    required: bool = False
    default: str | None = None
    """A literal default (same text in both engines), when the column has one."""
    public: bool = True
    """Shown by ``stopline history --json`` (the rest is the journal's own bookkeeping)."""


COLUMNS: tuple[Column, ...] = (
    Column("id", "id", "database", required=True),
    Column("started_at", "time", "claim", required=True),
    Column("sent_at", "time"),
    Column("finished_at", "time"),
    Column("updated_at", "time"),
    Column("lease_until", "time", "claim", public=False),
    Column("operator", "text", "database", required=True),
    Column("display_name", "text", "claim", required=True, default="''"),
    Column("host", "text", "claim", required=True, default="''"),
    Column("pid", "int", "claim"),
    Column("pid_started", "real", "claim", public=False),
    Column("provider", "text", "claim", required=True),
    Column("order_id", "text", "claim", required=True),
    Column("reason", "text", "claim", required=True),
    Column("reason_code", "text", "claim"),
    Column("items", "json", "claim", required=True, default="'[]'"),
    Column("state", "state", "claim", required=True, default="'claimed'"),
    Column("open", "flag", "claim", required=True),
    Column("outcome", "outcome"),
    Column("confirmed", "flag", required=True),
    Column("http_status", "int"),
    Column("request_id", "text"),
    Column("cancelled", "json", required=True, default="'[]'"),
    Column("not_cancelled", "json", required=True, default="'[]'"),
    Column("warnings", "json", required=True, default="'[]'"),
    Column("message", "text", required=True, default="''"),
    Column("duration_ms", "real"),
    Column("before", "json", public=False),
    Column("version", "int", "database", required=True, default="0", public=False),
    Column("origin", "text", "import", public=False),
)
"""Every column of ``attempts``, in order."""

NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
PUBLIC: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.public)
"""The keys of ``stopline history --json``, in order."""
INSERTED_BY_CLAIM: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.set_by == "claim")
UPDATED_BY_LIFECYCLE: tuple[str, ...] = tuple(
    c.name
    for c in COLUMNS
    if c.set_by == "lifecycle" or c.name in ("lease_until", "state", "open")
)
"""What the lifecycle changes after the claim: its own columns, and the claim's lease, state
and whether it is open."""
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
