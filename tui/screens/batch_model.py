"""The console's batch, without widgets: preview rows, result cells and the CSV export.
The batch itself is :mod:`tui.core.batch` (shared with ``stopline batch``); the screen is
:mod:`tui.screens.batch`.
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tui.core.batch import (
    Action,
    BatchPlan,
    BatchResult,
    BatchRunner,
    BatchSummary,
    format_items,
    parse_batch,
)
from tui.core.domain import Outcome
from tui.core.text import clean, csv_safe
from tui.widgets.text import OUTCOME_WORDS

if TYPE_CHECKING:
    from tui.core.journal import Attempt
    from tui.core.service import StoplineService

EXPORT_COLUMNS = (
    "line_no",
    "provider",
    "order_id",
    "outcome",
    "confirmed",
    "http_status",
    "skipped",
    "note",
    "message",
    "cancelled",
    "not_cancelled",
    "warnings",
    "request_id",
    "attempt_id",
)


def csv_header(text: str) -> set[str] | None:
    """The column names when the first meaningful line of ``text`` is a CSV header."""
    for line in io.StringIO(text):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if "," not in stripped:
            return None
        cells = {cell.strip().strip('"').lower() for cell in stripped.split(",")}
        return cells if "order_id" in cells else None
    return None


def will_text(action: Action, earlier: Attempt | None) -> str:
    if action is Action.SKIP and earlier is not None:
        return f"skip: {earlier.outcome.value.replace('_', ' ')} earlier (#{earlier.id})"
    if action is Action.RECHECK and earlier is not None:
        return f"reconcile first: #{earlier.id} is unknown; send only if untouched"
    if action is Action.RESEND and earlier is not None:
        return f"send again: #{earlier.id} failed"
    if earlier is not None:
        return "send (other items were settled earlier)"
    return "send"


def will_tone(value: str) -> str | None:
    if value.startswith("BAD"):
        return "bad"
    if value.startswith(("reconcile", "send again")):
        return "warn"
    if value.startswith("skip"):
        return "muted"
    return None


@dataclass
class BatchPreview:
    """A checked plan, what the journal says about each row, and the preview table."""

    plan: BatchPlan
    actions: list[Action]
    cells: list[list[str]]
    concurrency: int

    @property
    def counts(self) -> Counter[Action]:
        return Counter(self.actions)

    @property
    def to_send(self) -> int:
        return len(self.plan.rows) - self.counts[Action.SKIP]


def check_rows(
    service: StoplineService, text: str, provider: str | None, reason: str, concurrency: int
) -> tuple[BatchRunner, BatchPlan]:
    """Parse and check every row as a cancel would (``preflight``). Blocking: run it in a
    thread. Raises :class:`InvalidInput` for a problem with the text as a whole."""
    plan = parse_batch(text, provider=provider, reason=reason or None)
    runner = BatchRunner(service, concurrency)
    return runner, runner.preflight(plan)


def build_preview(
    plan: BatchPlan,
    decisions: Sequence[tuple[Action, Attempt | None]],
    concurrency: int,
) -> BatchPreview:
    """The preview table from a checked plan and what the journal suggests for each row."""
    lines: list[tuple[int, list[str]]] = []
    for row, (action, earlier) in zip(plan.rows, decisions, strict=True):
        request = row.request
        lines.append(
            (
                row.line_no,
                [
                    str(row.line_no),
                    request.provider,
                    clean(request.order_id, max_chars=40),
                    will_text(action, earlier),
                    clean(format_items(request.items), max_chars=60) or "whole order",
                ],
            )
        )
    for error in plan.errors:
        lines.append(
            (error.line_no, [str(error.line_no), "", "", "BAD: " + clean(error.message), ""])
        )
    lines.sort(key=lambda item: item[0])
    return BatchPreview(
        plan=plan,
        actions=[action for action, _ in decisions],
        cells=[cells for _, cells in lines],
        concurrency=concurrency,
    )


@dataclass
class BatchRun:
    """One run of a preview: its summary fills as results arrive."""

    run_id: int
    preview: BatchPreview
    summary: BatchSummary = field(default_factory=BatchSummary)
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    stopped: bool = False
    error: str | None = None
    shown: int = 0
    """Results already in the table."""

    @property
    def running(self) -> bool:
        return self.ended is None

    @property
    def elapsed(self) -> float:
        return (self.ended if self.ended is not None else time.monotonic()) - self.started


STATUS_WORDS = {**OUTCOME_WORDS, "held": "HELD", "already_cancelled": "CANCELLED"}
"""A row's status in words: its outcome, or held / cancelled already (nothing sent)."""


def result_cells(result: BatchResult) -> list[str]:
    outcome = result.outcome
    confirmed = ""
    if outcome is not None and outcome.outcome in (Outcome.COMPLETE, Outcome.PARTIAL):
        confirmed = "yes" if outcome.confirmed else "no"
    said = (outcome.message, *outcome.warnings[-1:]) if outcome is not None else ()
    detail = "; ".join(dict.fromkeys(x for x in (result.note, *said) if x))
    request = result.row.request
    http = outcome.http_status if outcome is not None else None
    return [
        str(result.line_no),
        request.provider,
        clean(request.order_id, max_chars=40),
        STATUS_WORDS.get(result.status, result.status),
        confirmed,
        "" if http is None else str(http),
        clean(detail, max_chars=300),
    ]


def export_rows(summary: BatchSummary, plan: BatchPlan) -> list[list[str]]:
    """Results then bad rows, in file order, every cell through ``csv_safe``."""
    rows: list[tuple[int, list[object]]] = []
    for result in summary.results:
        o = result.outcome
        request = result.row.request
        rows.append(
            (
                result.line_no,
                [
                    result.line_no,
                    request.provider,
                    request.order_id,
                    result.status,
                    "yes" if o is not None and o.confirmed else "no",
                    "" if o is None or o.http_status is None else o.http_status,
                    "yes" if result.skipped else "no",
                    result.note,
                    o.message if o is not None else "",
                    ";".join(
                        f"{c.id}={c.quantity}" if c.quantity is not None else c.id
                        for c in (o.cancelled if o is not None else [])
                    ),
                    "; ".join(
                        f"{n.id}: {n.reason or n.status}".rstrip(": ")
                        for n in (o.not_cancelled if o is not None else [])
                    ),
                    "; ".join(o.warnings) if o is not None else "",
                    (o.request_id or "") if o is not None else "",
                    "" if result.attempt_id is None else result.attempt_id,
                ],
            )
        )
    for error in plan.errors:
        cells: list[object] = [error.line_no, "", "", "bad_row", "", "", "", "", error.message]
        rows.append((error.line_no, cells + [""] * (len(EXPORT_COLUMNS) - len(cells))))
    rows.sort(key=lambda item: item[0])
    return [[csv_safe(cell) for cell in cells] for _, cells in rows]


def write_export(path: Path, rows: list[list[str]], *, make_parent: bool) -> None:
    """Write a new CSV file (never over an existing one), readable by its owner only."""
    if make_parent:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        writer.writerows(rows)
