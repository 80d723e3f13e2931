"""The batch screen's run: the core's batch runner in a worker, its results drawn a few times
a second, stopped on ``s``."""


from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.containers import Vertical
from textual.widgets import (
    ProgressBar,
    Static,
)

from tui import messages as msg
from tui.core.batch import (
    HELD,
    BatchRunner,
)
from tui.core.domain import Outcome
from tui.core.text import clean
from tui.screens.batch.model import (
    BatchPreview,
    BatchRun,
    result_cells,
    result_detail,
)
from tui.screens.batch.texts import (
    question_detail,
    question_text,
    run_counts,
    run_title,
)
from tui.themes import tones
from tui.widgets.rowtable import ListRows, RowTable

if TYPE_CHECKING:
    pass
from tui.screens.batch.base import (
    FLUSH_S,
    RESULT_COLUMNS,
    RESULT_WIDTHS,
    WORD_TONE,
    BatchScreenBase,
    fit_widths,
)

log = logging.getLogger("stopline.console")


class BatchRunning(BatchScreenBase):
    # -- run ---------------------------------------------------------------------------------

    def action_run(self) -> None:
        preview = self.preview
        if self.phase != "preview" or preview is None or not preview.plan.rows:
            return
        if self.batch_run is not None and self.batch_run.running:
            self.notify("A batch is already running.", severity="warning")
            return
        from tui.screens.confirm import ConfirmScreen

        self.app.push_screen(
            ConfirmScreen(self.question(preview), detail=self.question_detail(preview)),
            callback=self._confirmed(preview),
        )

    def question(self, preview: BatchPreview) -> Text:
        return question_text(preview.summary)

    def question_detail(self, preview: BatchPreview) -> Text:
        return question_detail(preview.summary)

    def _confirmed(self, preview: BatchPreview):  # type: ignore[no-untyped-def]
        def answer(yes: bool | None) -> None:
            if yes and self.preview is preview:
                self.start_run(preview)

        return answer

    def start_run(self, preview: BatchPreview) -> None:
        self._run_ids += 1
        run = BatchRun(self._run_ids, preview)
        run.summary.total = len(preview.plan.rows)
        run.summary.bad_rows = len(preview.plan.errors)
        self.batch_run = run
        if self._results is not None:
            self._results.remove()
        self._results = RowTable(
            RESULT_COLUMNS,
            ListRows(),
            widths=fit_widths(RESULT_WIDTHS, self.size.width),
            tone_columns={3: WORD_TONE.get},
            classes="results",
        )
        self.query_one("#run", Vertical).mount(self._results)
        self.query_one("#progress", ProgressBar).update(total=run.summary.total, progress=0)
        self._draw_run()
        self.show_phase("run")
        self.stopline.hold_work("batch", lambda: self._running_words(run))
        self.run_batch(run)

    def _running_words(self, run: BatchRun) -> str:
        summary = run.summary
        return (
            f"a batch is running ({summary.done:,} of {summary.total:,} done): quitting stops "
            "it; nothing new is sent, and the cancels in flight stay unknown in the journal "
            "until the batch is run again"
        )

    @on(RowTable.RowHighlighted, ".results")
    def _result_highlighted(self, event: RowTable.RowHighlighted) -> None:
        run = self.batch_run
        row = event.cursor_row
        if run is None or not 0 <= row < len(run.summary.results):
            return
        self._show_row_detail(result_detail(run.summary.results[row]))

    @work(exclusive=True, group="batch-run", exit_on_error=False)
    async def run_batch(self, run: BatchRun) -> None:
        service = self.stopline.service
        stopped = False
        error: str | None = None
        pulse: asyncio.Task[None] | None = None
        try:
            assert service is not None
            rows = run.preview.plan.rows
            runner = BatchRunner(service, run.preview.concurrency)
            run.started = time.monotonic()
            pulse = asyncio.create_task(self._pulse(run))
            # The collector's full passes walk every object alive; the app alone holds
            # ~100,000 and a batch allocates fast, so each pass would stall the loop for
            # 30-150 ms. Frozen, the app's objects are skipped until the run ends.
            gc.freeze()
            try:
                await runner.run(rows, None, run.summary)
            finally:
                gc.unfreeze()
        except asyncio.CancelledError:
            stopped = True
            raise
        except Exception as exc:
            log.exception("batch run failed")
            error = f"{type(exc).__name__}: {exc}"
        finally:
            if pulse is not None:
                pulse.cancel()
            self.post_message(msg.BatchDone(run.run_id, stopped=stopped, error=error))

    async def _pulse(self, run: BatchRun) -> None:
        while True:
            await asyncio.sleep(FLUSH_S)
            self.post_message(msg.BatchProgress(run.run_id))

    @on(msg.BatchProgress)
    def _progress(self, message: msg.BatchProgress) -> None:
        if self.batch_run is not None and message.run_id == self.batch_run.run_id:
            self._flush(self.batch_run)

    @on(msg.BatchDone)
    def _done(self, message: msg.BatchDone) -> None:
        run = self.batch_run
        if run is None or message.run_id != run.run_id:
            return
        run.ended = time.monotonic()
        run.stopped = message.stopped
        run.error = message.error
        self.stopline.release_work("batch")
        self._flush(run)
        summary = run.summary
        counts = ", ".join(
            f"{n:,} {name.replace('_', ' ')}" for name, n in summary.by_outcome().items()
        )
        if run.error is not None:
            self.notify(
                clean(run.error, max_chars=300),
                title="batch broke off",
                severity="error",
                markup=False,
            )
        elif run.stopped:
            self.notify(
                f"{summary.done:,} finished, {summary.not_run:,} not ({counts or 'none'})",
                title="batch stopped",
                severity="warning",
                markup=False,
            )
        else:
            bad = any(
                summary.counts[status]
                for status in (Outcome.UNKNOWN.value, Outcome.ERROR.value, HELD)
            )
            self.notify(
                counts or "nothing ran",
                title="batch finished",
                severity="warning" if bad else "information",
                markup=False,
            )
        self._refresh_keys()

    def _flush(self, run: BatchRun) -> None:
        """Bring the table, bar and counts up to the run's summary."""
        results = run.summary.results
        if self._results is not None and run.shown < len(results):
            new = results[run.shown :]
            run.shown = len(results)
            self._results.append([result_cells(r) for r in new])
        self.query_one("#progress", ProgressBar).update(progress=run.summary.done)
        self._draw_run()
        self._refresh_keys()

    def _draw_run(self) -> None:
        run = self.batch_run
        if run is None:
            return
        tone = tones(self.app.current_theme)
        # Fixed heights: a redraw ten times a second needs no layout pass.
        self.query_one("#run-title", Static).update(run_title(run, tone), layout=False)
        self.query_one("#counts", Static).update(run_counts(run, tone), layout=False)

    def action_stop(self) -> None:
        if self.batch_run is None or not self.batch_run.running:
            return
        self.workers.cancel_group(self, "batch-run")
        self.notify("Stopping: nothing new is sent.", timeout=3)

