"""An attempt's values as the journal's engines store them, and read back: timestamps, JSON
lists, outcomes. Shared by the SQLite and PostgreSQL journals."""


from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from tui.core.domain import CancelOutcome, CancelRequest, Order, Outcome
from tui.core.identifiers import InvalidInput
from tui.core.journal.model import (
    Attempt,
    AttemptState,
)


def stamp(moment: datetime) -> str:
    """Fixed-width UTC ISO text, so SQL string comparison orders it correctly."""
    from datetime import UTC

    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def dump_list(values: Sequence[BaseModel] | Sequence[str]) -> str:
    return json.dumps(
        [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in values],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def dump_items(request: CancelRequest) -> str:
    return json.dumps([{"id": i.id, "quantity": i.quantity} for i in request.items])


def outcome_values(outcome: CancelOutcome) -> tuple[Any, ...]:
    """outcome, confirmed, http_status, request_id, cancelled, not_cancelled, warnings,
    message — as stored."""
    return (
        outcome.outcome.value,
        int(outcome.confirmed),
        outcome.http_status,
        outcome.request_id,
        dump_list(outcome.cancelled),
        dump_list(outcome.not_cancelled),
        dump_list(outcome.warnings),
        outcome.message,
    )


def late_answer_note(outcome: CancelOutcome) -> str:
    said = f": {outcome.message}" if outcome.message else ""
    return (
        f"a late answer came after this attempt was reconciled: {outcome.outcome.value}{said}"
    )


OVERRULED_BY_A_LATE_ANSWER = "error"
"""The reconciled outcome a late answer replaces: "not applied" was read from a look-up, and
a provider answering that it did cancel says otherwise."""


def late_answer_that_overrules(outcome: CancelOutcome) -> CancelOutcome | None:
    """The late answer as it replaces an attempt reconciled as not applied — only when the
    provider says it cancelled something — with a warning that says so; else None (the
    reconciled outcome stands and the answer is only noted beside it)."""
    if outcome.outcome not in (Outcome.COMPLETE, Outcome.PARTIAL):
        return None
    return outcome.model_copy(update={"warnings": [*outcome.warnings, OVERRULED_WARNING]})


OVERRULED_WARNING = (
    "this attempt had been reconciled as not applied when the provider answered that it "
    "cancelled: another cancel of this order may have been sent since — check the order"
)


def attempt_from_row(data: dict[str, Any]) -> Attempt:
    """An :class:`Attempt` from a row of either engine (JSON columns as text or parsed)."""
    for key in ("items", "cancelled", "not_cancelled", "warnings"):
        value = data.get(key)
        if isinstance(value, str) or value is None:
            data[key] = json.loads(value or "[]")
    before = data.get("before")
    if isinstance(before, str):
        data["before"] = Order.model_validate_json(before)
    data["confirmed"] = bool(data.get("confirmed"))
    data["open"] = bool(data.get("open"))
    if data.get("state") == AttemptState.FINISHED and data.get("outcome") is None:
        data["state"] = AttemptState.SENT
    return Attempt.model_validate(data)


def outcome_filter(outcome: Outcome | str) -> Outcome:
    try:
        return Outcome(outcome)
    except ValueError:
        known = ", ".join(o.value for o in Outcome)
        raise InvalidInput(f"unknown outcome {outcome!r}; known: {known}") from None


def history_query(
    limit: int | None,
    provider: str | None,
    order_id: str | None,
    since: Any,
    outcome: Outcome | str | None,
    open_only: bool,
    *,
    mark: str,
    after: tuple[Any, int] | None = None,
) -> tuple[str, str, list[Any]]:
    """The ``WHERE`` condition, the ``ORDER``/``LIMIT`` tail and the parameters of a history
    query, with ``mark`` as the engine's placeholder (``?`` or ``%s``): newest first,
    withdrawn claims left out, ``unknown`` including attempts never finished.

    Newest first is by id; with ``since``, by start (then id), which the index on
    (started_at, id) serves. ``after`` is the (started_at, id) of the last attempt of the
    page before, in the engine's form: the next page starts right after it (keyset paging,
    so a page costs the same however deep it is)."""
    where, params = ["state != 'withdrawn'"], []
    if provider is not None:
        where.append(f"provider = {mark}")
        params.append(provider)
    if order_id is not None:
        where.append(f"order_id = {mark}")
        params.append(order_id)
    if since is not None:
        where.append(f"started_at >= {mark}")
        params.append(since)
    if open_only:
        where.append("open = TRUE")
    if outcome is not None:
        wanted = outcome_filter(outcome)
        if wanted is Outcome.UNKNOWN:
            where.append("(state != 'finished' OR outcome = 'unknown')")
        else:
            where.append(f"(state = 'finished' AND outcome = {mark})")
            params.append(wanted.value)
    if after is not None:
        started, last_id = after
        if since is not None:
            # A row value: both engines range over the (started_at, id) index with it.
            where.append(f"(started_at, id) < ({mark}, {mark})")
            params.extend((started, last_id))
        else:
            where.append(f"id < {mark}")
            params.append(last_id)
    tail = "ORDER BY started_at DESC, id DESC" if since is not None else "ORDER BY id DESC"
    if limit is not None:
        if limit < 1:
            raise InvalidInput("limit must be at least 1")
        tail += f" LIMIT {mark}"
        params.append(int(limit))
    return " AND ".join(where), tail, params
