"""The console's batch, without widgets: preview rows, the journal read ahead for a run,
result cells and the CSV export. The batch itself is :mod:`tui.core.batch` (shared with
``stopline batch``); the screen is :mod:`tui.screens.batch`.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from tui.core.batch import (
    Action,
    BatchPlan,
    BatchResult,
    BatchRow,
    BatchRunner,
    BatchSummary,
    format_items,
    parse_batch,
)
from tui.core.domain import Outcome
from tui.core.text import clean, csv_safe
from tui.widgets.text import OUTCOME_WORDS

if TYPE_CHECKING:
    from tui.core.domain import CancelOutcome
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


def resume_log(service: StoplineService) -> Any:
    """The service's journal if it can say what an order's latest attempt was, else None."""
    journal = service.journal
    return journal if hasattr(journal, "latest_for") else None


def will_text(action: Action, earlier: Attempt | None) -> str:
    if action is Action.SKIP and earlier is not None:
        return f"skip: {earlier.outcome.value.replace('_', ' ')} earlier (#{earlier.id})"
    if action is Action.RECHECK and earlier is not None:
        return f"look up first: #{earlier.id} is unknown; send only if open"
    if action is Action.RESEND and earlier is not None:
        return f"send again: #{earlier.id} failed"
    if earlier is not None:
        return "send (other items were settled earlier)"
    return "send"


def will_tone(value: str) -> str | None:
    if value.startswith("BAD"):
        return "bad"
    if value.startswith(("look up", "send again")):
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


def build_preview(
    service: StoplineService, text: str, provider: str | None, reason: str, concurrency: int
) -> BatchPreview:
    """Parse, check every row as a cancel would (``preflight``) and read the journal's latest
    attempt on each order. Blocking: run it in a thread. Raises :class:`InvalidInput` for a
    problem with the text as a whole."""
    plan = parse_batch(text, provider=provider, reason=reason or None)
    runner = BatchRunner(service, resume_log(service), concurrency)
    plan = runner.preflight(plan)
    decisions = [runner.decide(row) for row in plan.rows]
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


class PrefetchedLog:
    """The journal as a console batch reads it: every row's latest attempt read in a thread
    before the run, so :meth:`BatchRunner.decide` never waits for the journal's lock on the
    event loop; the rare :meth:`update` (an unknown attempt settled by a re-check) is written
    in a thread too, and :meth:`drain` waits for those writes.

    The read is a snapshot taken when the run starts. A batch never holds one order twice,
    so only another Stopline process cancelling the same orders meanwhile could make it
    stale — the same window the CLI has between its read and its write-ahead.
    """

    def __init__(self, journal: Any, latest: dict[tuple[str, str], Attempt | None]) -> None:
        self._journal = journal
        self._latest = latest
        self._writes: list[asyncio.Future[None]] = []

    @classmethod
    def read(cls, journal: Any, rows: Sequence[BatchRow]) -> PrefetchedLog:
        """Blocking: run it in a thread."""
        return cls(journal, {row.key: journal.latest_for(*row.key) for row in rows})

    def latest_for(self, provider: str, order_id: str) -> Attempt | None:
        key = (provider, order_id)
        if key in self._latest:
            return self._latest[key]
        return cast("Attempt | None", self._journal.latest_for(provider, order_id))

    def update(self, attempt_id: int, outcome: CancelOutcome) -> None:
        loop = asyncio.get_running_loop()
        self._writes.append(loop.run_in_executor(None, self._journal.update, attempt_id, outcome))

    async def drain(self) -> None:
        """Wait for the writes; raise the first that failed."""
        results = await asyncio.gather(*self._writes, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result


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


def result_cells(result: BatchResult) -> list[str]:
    outcome = result.outcome
    if outcome.outcome in (Outcome.COMPLETE, Outcome.PARTIAL):
        confirmed = "yes" if outcome.confirmed else "no"
    else:
        confirmed = ""
    detail = "; ".join(x for x in (result.note, outcome.message, *outcome.warnings[-1:]) if x)
    return [
        str(result.line_no),
        outcome.provider,
        clean(outcome.order_id, max_chars=40),
        OUTCOME_WORDS.get(outcome.outcome.value, outcome.outcome.value),
        confirmed,
        "" if outcome.http_status is None else str(outcome.http_status),
        clean(detail, max_chars=300),
    ]


def export_rows(summary: BatchSummary, plan: BatchPlan) -> list[list[str]]:
    """Results then bad rows, in file order, every cell through ``csv_safe``."""
    rows: list[tuple[int, list[object]]] = []
    for result in summary.results:
        o = result.outcome
        rows.append(
            (
                result.line_no,
                [
                    result.line_no,
                    o.provider,
                    o.order_id,
                    o.outcome.value,
                    "yes" if o.confirmed else "no",
                    "" if o.http_status is None else o.http_status,
                    "yes" if result.skipped else "no",
                    result.note,
                    o.message,
                    ";".join(
                        f"{c.id}={c.quantity}" if c.quantity is not None else c.id
                        for c in o.cancelled
                    ),
                    "; ".join(
                        f"{n.id}: {n.reason or n.status}".rstrip(": ") for n in o.not_cancelled
                    ),
                    "; ".join(o.warnings),
                    o.request_id or "",
                    "" if o.attempt_id is None else o.attempt_id,
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
