"""The console's batch, without widgets: preview rows, result cells and the CSV export.
The batch itself is :mod:`tui.core.batch` (shared with ``stopline batch``); the screen is
:mod:`tui.screens.batch`.
"""

from __future__ import annotations

import io
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.text import Text

from tui.core.batch import (
    Action,
    BatchPlan,
    BatchResult,
    BatchRunner,
    BatchSummary,
    format_items,
    parse_batch,
)
from tui.core.batch.report import PreRunSummary, summarize
from tui.core.domain import Outcome
from tui.core.providers import registry
from tui.core.text import clean

if TYPE_CHECKING:
    from tui.core.journal import Attempt
    from tui.core.service import StoplineService

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
    summary: PreRunSummary
    """What the run will do, in words the CLI says too."""

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
                    registry.label(request.provider),
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
    actions = [action for action, _ in decisions]
    return BatchPreview(
        plan=plan,
        actions=actions,
        cells=[cells for _, cells in lines],
        concurrency=concurrency,
        summary=summarize(plan, actions, concurrency),
    )


@dataclass
class BatchRun:
    """One run of a preview: its summary fills as results arrive."""

    run_id: int
    preview: BatchPreview
    summary: BatchSummary = field(default_factory=lambda: BatchSummary(keep_all=True))
    """Every result kept: the screen shows each row and exports them."""
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


def _detail(result: BatchResult) -> str:
    outcome = result.outcome
    said = (outcome.message, *outcome.warnings[-1:]) if outcome is not None else ()
    return "; ".join(dict.fromkeys(x for x in (result.note, *said) if x))


def result_detail(result: BatchResult) -> Text:
    """One result in full, for the line under the table (its detail column is narrow)."""
    request = result.row.request
    return Text.assemble(
        (f"line {result.line_no}", "bold"),
        f" · {registry.label(request.provider)} ",
        (clean(request.order_id, max_chars=64), "bold"),
        f" · {result.status.label}: ",
        clean(_detail(result), max_chars=400) or "—",
    )


def result_cells(result: BatchResult) -> list[str]:
    outcome = result.outcome
    confirmed = ""
    if outcome is not None and outcome.outcome in (Outcome.COMPLETE, Outcome.PARTIAL):
        confirmed = "yes" if outcome.confirmed else "no"
    detail = _detail(result)
    request = result.row.request
    http = outcome.http_status if outcome is not None else None
    return [
        str(result.line_no),
        registry.label(request.provider),
        clean(request.order_id, max_chars=40),
        result.status.words,
        confirmed,
        "" if http is None else str(http),
        clean(detail, max_chars=300),
    ]
