"""``stopline journal import PATH``: a local journal's history copied into the shared one,
each attempt once, so a floor that started on one machine keeps its history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from tui.core.journal.model import Attempt
from tui.core.journal.postgres_schema import SCHEMA


class Connects(Protocol):
    """The shared journal, as far as an import needs it: a guarded pooled connection."""

    def connection(self) -> Any: ...

TABLE = f"{SCHEMA}.attempts"


def _dump(values: Sequence[Any]) -> str:
    import json

    return json.dumps(
        [v.model_dump(mode="json") if hasattr(v, "model_dump") else v for v in values],
        ensure_ascii=False,
    )


async def import_attempts(
    journal: Connects, attempts: Sequence[Attempt], origin: str
) -> tuple[int, int]:
    """Copy attempts of a local journal here, each once (keyed by ``origin`` + its id):
    return (imported, already there). The importing role becomes ``operator`` (the
    database vouches only for who wrote the row); the original operator is kept as the
    display name. An attempt still open keeps the claim unless the order is held here
    already. Needs the owner role (operators may not write outcomes directly)."""
    from psycopg import errors as pg_errors

    imported = skipped = 0
    for attempt in sorted(attempts, key=lambda a: a.id):
        if attempt.state.value in ("withdrawn", "claimed"):
            continue
        key = f"{origin}#{attempt.id}@{attempt.started_at.isoformat()}"
        values = import_values(attempt, key)
        async with journal.connection() as conn:
            for keep_open in ((True, False) if attempt.open else (False,)):
                try:
                    cursor = await conn.execute(
                        f"INSERT INTO {TABLE} (started_at, sent_at, finished_at, updated_at,"
                        " lease_until, display_name, host, pid, pid_started, provider,"
                        " order_id, reason, reason_code, items, state, open, outcome,"
                        " confirmed, http_status, request_id, cancelled, not_cancelled,"
                        " warnings, message, duration_ms, before, origin) VALUES (%s, %s,"
                        " %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s,"
                        " %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s::jsonb, %s, %s,"
                        " %s::jsonb, %s) ON CONFLICT (origin) DO NOTHING",
                        (*values[:15], keep_open, *values[15:]),
                    )
                except pg_errors.UniqueViolation:
                    continue  # the order is held here already: import it released
                if cursor.rowcount:
                    imported += 1
                else:
                    skipped += 1
                break
    return imported, skipped

def import_values(attempt: Attempt, origin: str) -> tuple[Any, ...]:
    state = attempt.state.value
    outcome = attempt.outcome.value if state == "finished" else None
    warnings = list(attempt.warnings)
    if attempt.open:
        warnings.append(f"imported from a local journal ({origin})")
    return (
        attempt.started_at,
        attempt.sent_at,
        attempt.finished_at,
        attempt.updated_at,
        attempt.lease_until,
        attempt.who,
        attempt.host,
        attempt.pid,
        attempt.pid_started,
        attempt.provider,
        attempt.order_id,
        attempt.reason,
        attempt.reason_code,
        _dump(attempt.items),
        state,
        outcome,
        attempt.confirmed,
        attempt.http_status,
        attempt.request_id,
        _dump(attempt.cancelled),
        _dump(attempt.not_cancelled),
        _dump(warnings),
        attempt.message,
        attempt.duration_ms,
        attempt.before.model_dump_json() if attempt.before is not None else None,
        origin,
    )
