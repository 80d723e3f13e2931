"""Batch results as CSV: the rows (every cell spreadsheet-safe), the file (new, private) and
the dialog asking where to write it."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from tui.core.batch import BatchPlan, BatchSummary
from tui.core.text import csv_safe
from tui.screens.modal import HelpfulModal
from tui.widgets.keys_footer import KeysFooter

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


class ExportScreen(HelpfulModal["Path | None"]):
    """Where to write the CSV: the data folder's ``exports/``, or a typed path."""

    HELP_TITLE = "export"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "dismiss(None)",
            "Back",
            id="stopline.batch.export.back",
            tooltip="Do not export",
        ),
    ]

    DEFAULT_CSS = """
    ExportScreen { align: center middle; }
    ExportScreen > Vertical {
        width: 100%; max-width: 90; height: auto;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    ExportScreen #export-help { color: $text-muted; }
    """

    def __init__(self, default: Path) -> None:
        super().__init__()
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Export the results as CSV to:")
            yield Input(str(self.default), id="export-path", compact=True)
            yield Static(
                Text("enter writes (never over an existing file) · esc back"), id="export-help"
            )
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @on(Input.Submitted, "#export-path")
    def _submitted(self, event: Input.Submitted) -> None:
        raw = event.value.strip()
        if raw:
            self.dismiss(Path(raw).expanduser())
