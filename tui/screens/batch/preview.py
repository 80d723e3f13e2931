"""The batch screen's preview: every row checked as a cancel would be, and what the journal
suggests for it, read off the loop."""


from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.containers import Vertical
from textual.widgets import (
    Input,
    Static,
)

from tui import messages as msg
from tui.core.batch import (
    MAX_CONCURRENCY,
)
from tui.core.identifiers import InvalidInput
from tui.screens.batch.model import (
    BatchPreview,
    build_preview,
    check_rows,
    csv_header,
    will_tone,
)
from tui.screens.batch.texts import (
    preview_text,
)
from tui.themes import tones
from tui.widgets.rowtable import ListRows, RowTable
from tui.widgets.text import t

if TYPE_CHECKING:
    from tui.core.service import StoplineService
from tui.screens.batch.base import (
    PREVIEW_COLUMNS,
    PREVIEW_WIDTHS,
    BatchScreenBase,
    fit_widths,
)

log = logging.getLogger("stopline.console")


class BatchPreviewing(BatchScreenBase):
    def action_preview(self) -> None:
        if self.phase != "form" or self.previewing:
            return
        service = self.stopline.service
        if service is None:
            return
        text = self.source_text()
        columns = csv_header(text) or set()
        reason = self.reason_field.value
        problem = None
        try:
            concurrency = int(self.query_one("#concurrency", Input).value or "0")
        except ValueError:
            concurrency = 0
        if not text.strip():
            problem = "Paste identifiers, or type a file path and press enter."
        elif self.provider is None and "provider" not in columns:
            problem = "Choose a provider (or paste CSV with a provider column)."
        elif not reason and "reason" not in columns:
            problem = "Give a reason: type one, or ↑/↓ for a preset."
        elif not 1 <= concurrency <= MAX_CONCURRENCY:
            problem = f"At once: a number from 1 to {MAX_CONCURRENCY}."
        if problem is not None:
            self._problem(problem)
            return
        self._problem(Text("Checking the rows and the journal…", style="dim"))
        self.previewing = True
        self._generation += 1
        self._refresh_keys()
        self.make_preview(self._generation, service, text, self.provider, reason, concurrency)

    @work(exclusive=True, group="batch-preview", exit_on_error=False)
    async def make_preview(
        self,
        generation: int,
        service: StoplineService,
        text: str,
        provider: str | None,
        reason: str,
        concurrency: int,
    ) -> None:
        try:
            runner, plan = await asyncio.to_thread(
                check_rows, service, text, provider, reason, concurrency
            )
            decisions = await runner.expectations(plan.rows)
            preview = await asyncio.to_thread(build_preview, plan, decisions, concurrency)
        except InvalidInput as exc:
            self.post_message(msg.BatchPreviewed(generation, None, str(exc)))
        except Exception as exc:
            log.exception("batch preview failed")
            self.post_message(msg.BatchPreviewed(generation, None, f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(msg.BatchPreviewed(generation, preview, None))

    @on(msg.BatchPreviewed)
    def _previewed(self, message: msg.BatchPreviewed) -> None:
        if message.generation != self._generation:
            return
        self.previewing = False
        if message.preview is None:
            self._problem(Text.assemble("cannot use these rows: ", t(message.error or "")))
            self._refresh_keys()
            return
        self._problem("")
        preview = cast("BatchPreview", message.preview)
        self.preview = preview
        self.query_one("#preview-summary", Static).update(self.preview_summary(preview))
        if self._preview_table is not None:
            self._preview_table.remove()
        self._preview_table = RowTable(
            PREVIEW_COLUMNS,
            ListRows(preview.cells),
            widths=fit_widths(PREVIEW_WIDTHS, self.size.width, flexible=2),
            tone_columns={3: will_tone},
            classes="preview-table",
        )
        self.query_one("#preview", Vertical).mount(self._preview_table)
        self.show_phase("preview")

    @on(RowTable.RowHighlighted, ".preview-table")
    def _preview_highlighted(self, event: RowTable.RowHighlighted) -> None:
        preview = self.preview
        row = event.cursor_row
        if preview is None or not 0 <= row < len(preview.cells):
            return
        line, provider, order, will, items = preview.cells[row]
        self._show_row_detail(
            Text.assemble(
                (f"line {line}", "bold"),
                f" · {provider} " if provider else " · ",
                (order, "bold"),
                f" · {will}",
                f" · {items}" if items else "",
            )
        )

    def preview_summary(self, preview: BatchPreview) -> Text:
        return preview_text(preview.summary, tones(self.app.current_theme))

