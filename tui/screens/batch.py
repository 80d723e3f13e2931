"""``b``: cancel many orders at once — paste or load, preview, confirm, run, export.

Three phases on one screen: the **form** (identifiers or CSV, provider, reason, how many at
once), the **preview** (every row with its line number, bad rows, counts per provider and
what the journal already shows), and the **run** (progress, counts per outcome, results).
The run is :class:`tui.core.batch.BatchRunner` — the CLI's engine, with its resume rules —
in a worker on the app's loop, sharing the service's HTTP clients.

Responsiveness: parsing, checking and file I/O happen in threads, and the journal is
reached through the service, whose journal never blocks the loop. Results reach the screen
as :class:`tui.messages.BatchProgress` at most every 100 ms, and the results table
(Arrow-backed) appends them in one batch without redrawing the rows already shown. During
a run the collector skips the app's own objects (``gc.freeze``), so its full passes do not
stall the loop.

The screen is installed on the app: leaving it while a batch runs leaves the batch running.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import (
    ContentSwitcher,
    Footer,
    Input,
    Label,
    ProgressBar,
    Select,
    Static,
    TextArea,
)

from tui import messages as msg
from tui.core.batch import (
    ALREADY_CANCELLED,
    DEFAULT_CONCURRENCY,
    HELD,
    MAX_CONCURRENCY,
    MAX_FILE_BYTES,
    Action,
    BatchRunner,
    BatchSummary,
)
from tui.core.domain import PROVIDER_KEYS, PROVIDER_LABELS, Outcome
from tui.core.identifiers import InvalidInput
from tui.core.text import clean
from tui.screens.batch_model import (
    BatchPreview,
    BatchRun,
    build_preview,
    check_rows,
    csv_header,
    export_rows,
    result_cells,
    will_tone,
    write_export,
)
from tui.screens.cancel_dialog import CancelContext
from tui.themes import tones
from tui.widgets.fasttable import ToneTable, preload
from tui.widgets.reason import ReasonField
from tui.widgets.text import OUTCOME_TONE, OUTCOME_WORDS, t
from tui.widgets.topbar import TopBar

if TYPE_CHECKING:
    from tui.app import StoplineApp
    from tui.core.service import StoplineService

log = logging.getLogger("stopline.console")

Phase = Literal["form", "preview", "run"]

FLUSH_S = 0.1
"""How often a run's new results reach the screen."""
EDITABLE_LINES = 10_000
"""A loaded file longer than this is used as it is, not put in the text area (editing a
text area of 100,000 lines costs ~0.15 s a keystroke)."""
BAD_ROWS_LISTED = 3

PREVIEW_COLUMNS = ["line", "provider", "order", "will", "items"]
PREVIEW_WIDTHS = [5, 10, 24, 60, 40]
RESULT_COLUMNS = ["line", "provider", "order", "outcome", "conf.", "HTTP", "detail"]
RESULT_WIDTHS = [5, 10, 24, 9, 4, 4, 80]
WORD_TONE = {OUTCOME_WORDS[key]: tone for key, tone in OUTCOME_TONE.items()}


def counts_text(summary: BatchSummary, tone: dict[str, str]) -> Text:
    """Every outcome's count, then held and cancelled already (only when some are): running
    counts, never a recount. Every row done is in one of them."""
    counts = summary.counts
    text = Text()
    for index, outcome in enumerate(Outcome):
        if index:
            text.append(" · ", style="dim")
        n = counts[outcome.value]
        text.append(f"{outcome.value.replace('_', ' ')} ")
        text.append(f"{n:,}", style=f"bold {tone[OUTCOME_TONE[outcome.value]]}" if n else "dim")
    if counts[HELD]:
        text.append(" · held ", style="dim")
        text.append(f"{counts[HELD]:,}", style=f"bold {tone['warn']}")
    if counts[ALREADY_CANCELLED]:
        text.append(" · already cancelled ", style="dim")
        text.append(f"{counts[ALREADY_CANCELLED]:,}", style=f"bold {tone['muted']}")
    return text


def providers_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{PROVIDER_LABELS.get(k, k)} ({n:,})" for k, n in counts.items())


# -- the screen --------------------------------------------------------------------------------


class BatchScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "back",
            "Back",
            id="stopline.batch.back",
            tooltip="Back out: preview → form → lookup screen (a running batch keeps running)",
        ),
        Binding(
            "ctrl+r",
            "preview",
            "Preview",
            id="stopline.batch.preview",
            tooltip="Parse and check the rows, and see what the journal already shows",
        ),
        Binding(
            "down",
            "preset(1)",
            "Next reason",
            id="stopline.batch.next_reason",
            tooltip="Next preset reason",
        ),
        Binding(
            "up",
            "preset(-1)",
            "Prev reason",
            id="stopline.batch.prev_reason",
            tooltip="Previous preset reason",
        ),
        Binding(
            "r",
            "run",
            "Run…",
            id="stopline.batch.run",
            tooltip="Send the cancels (asks y/n first)",
        ),
        Binding(
            "s",
            "stop",
            "Stop",
            id="stopline.batch.stop",
            tooltip="Stop scheduling; requests in flight end as unknown in the journal",
        ),
        Binding(
            "e",
            "export",
            "Export CSV",
            id="stopline.batch.export",
            tooltip="Write the results as CSV (safe to open in a spreadsheet)",
        ),
    ]

    DEFAULT_CSS = """
    BatchScreen { layout: vertical; }
    BatchScreen ContentSwitcher { height: 1fr; }
    BatchScreen #form, BatchScreen #preview, BatchScreen #run { height: 1fr; }
    BatchScreen .field-label { color: $text-muted; }
    BatchScreen #source-label { margin: 1 0 0 1; }
    BatchScreen #source { height: 1fr; min-height: 4; }
    BatchScreen .row { height: 1; margin: 1 0 0 0; }
    BatchScreen .row > Label { width: auto; padding: 0 1; color: $text-muted; }
    BatchScreen #path { width: 1fr; }
    BatchScreen #provider { width: 1fr; }
    BatchScreen #concurrency { width: 6; }
    BatchScreen #reason-label { margin: 1 0 0 1; }
    BatchScreen ReasonField { padding: 0 1; }
    BatchScreen #form-problem { color: $error; text-style: bold; padding: 0 1; height: auto; }
    BatchScreen #preview-summary { padding: 0 1; margin: 1 0; height: auto; max-height: 10; }
    BatchScreen #run-title { padding: 0 1; margin: 1 0 0 0; height: 2; }
    BatchScreen #progress { padding: 0 1; height: 1; }
    BatchScreen #counts { padding: 0 1; height: 2; margin: 0 0 1 0; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.phase: Phase = "form"
        self.preview: BatchPreview | None = None
        self.batch_run: BatchRun | None = None
        self.previewing = False
        self.file_source: tuple[Path, str] | None = None
        """A loaded file too long to edit here, used as it is."""
        self._file_note = ""
        self._generation = 0
        self._run_ids = 0
        self._preview_table: ToneTable | None = None
        self._results: ToneTable | None = None
        self._key_state: tuple[bool | None, ...] = ()

    @property
    def stopline(self) -> StoplineApp:
        return cast("StoplineApp", self.app)

    # -- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield TopBar(id="topbar")
        with ContentSwitcher(initial="form"):
            with Vertical(id="form"):
                yield Label(
                    "Orders — one identifier a line, or CSV: provider,order_id,reason,items",
                    id="source-label",
                    classes="field-label",
                )
                yield TextArea(id="source", soft_wrap=False, show_line_numbers=True)
                with Horizontal(classes="row"):
                    yield Label("File")
                    yield Input(
                        placeholder="or a file path — enter reads it", id="path", compact=True
                    )
                with Horizontal(classes="row"):
                    yield Label("Provider")
                    yield Select(
                        self._provider_options(),
                        prompt="from the CSV's provider column",
                        id="provider",
                        compact=True,
                    )
                    yield Label("At once")
                    yield Input(
                        str(DEFAULT_CONCURRENCY), id="concurrency", type="integer", compact=True
                    )
                yield Label(
                    "Reason — for rows without one: type, or ↑/↓ for a preset",
                    id="reason-label",
                    classes="field-label",
                )
                yield ReasonField(self._presets(None), id="reason-field")
                yield Static(id="form-problem")
            with Vertical(id="preview"):
                yield Static(id="preview-summary")
            with Vertical(id="run"):
                yield Static(id="run-title")
                yield ProgressBar(id="progress", show_eta=False)
                yield Static(id="counts")
        yield Footer()

    def on_mount(self) -> None:
        app = self.stopline
        self.query_one(TopBar).set_state(
            state=app.connection_state, demo=app.demo, read_only=app.read_only
        )
        self.query_one("#source", TextArea).focus()

    def _provider_options(self) -> list[tuple[str, str]]:
        service = self.stopline.service
        keys = [k for k in PROVIDER_KEYS if service is not None and k in service.providers]
        return [(PROVIDER_LABELS[k], k) for k in keys]

    def _presets(self, provider: str | None) -> list[tuple[str, str | None]]:
        service = self.stopline.service
        if provider is None or service is None or provider not in service.providers:
            return CancelContext(label="", environment="other").presets()
        adapter = service.providers[provider]
        return CancelContext(
            label=adapter.label,
            environment="other",
            reason_codes=dict(adapter.reason_codes),
            reason_required=adapter.reason_required,
        ).presets()

    @property
    def source(self) -> TextArea:
        return self.query_one("#source", TextArea)

    @property
    def reason_field(self) -> ReasonField:
        return self.query_one(ReasonField)

    @property
    def provider(self) -> str | None:
        value = self.query_one("#provider", Select).value
        return value if isinstance(value, str) else None

    def show_phase(self, phase: Phase) -> None:
        self.phase = phase
        self.query_one(ContentSwitcher).current = phase
        if phase == "form":
            self.source.focus()
        elif phase == "preview" and self._preview_table is not None:
            self._preview_table.focus()
        elif phase == "run" and self._results is not None:
            self._results.focus()
        self._refresh_keys()

    def _problem(self, text: str | Text) -> None:
        self.query_one("#form-problem", Static).update(
            text if isinstance(text, Text) else Text(text)
        )

    # -- form --------------------------------------------------------------------------------

    @on(Select.Changed, "#provider")
    def _provider_changed(self) -> None:
        self.reason_field.set_presets(self._presets(self.provider))

    @on(TextArea.Changed, "#source")
    def _source_changed(self) -> None:
        if self.file_source is not None and self.source.text != self._file_note:
            self.file_source = None
            self._problem("")

    @on(Input.Submitted, "#path")
    def _path_submitted(self, event: Input.Submitted) -> None:
        raw = event.value.strip()
        if not raw:
            self._problem("Type a file path first.")
            return
        self._problem(Text("Reading the file…", style="dim"))
        self.read_file(Path(raw).expanduser())

    @work(thread=True, exclusive=True, group="batch-file", exit_on_error=False)
    def read_file(self, path: Path) -> None:
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise InvalidInput(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            self.post_message(msg.BatchFileRead(path, None, "not UTF-8 text"))
        except IsADirectoryError:
            self.post_message(msg.BatchFileRead(path, None, "is a folder, not a file"))
        except OSError as exc:
            self.post_message(msg.BatchFileRead(path, None, exc.strerror or str(exc)))
        except InvalidInput as exc:
            self.post_message(msg.BatchFileRead(path, None, str(exc)))
        else:
            self.post_message(msg.BatchFileRead(path, text))

    @on(msg.BatchFileRead)
    def _file_read(self, message: msg.BatchFileRead) -> None:
        if message.text is None:
            self._problem(
                Text.assemble("cannot read ", t(message.path), ": ", t(message.error or ""))
            )
            return
        lines = len(message.text.splitlines())
        if lines > EDITABLE_LINES:
            self._file_note = (
                f"# {clean(message.path)}: {lines:,} lines, used as they are in the file\n"
                "# (too many to edit here; type here to use pasted text instead)\n"
            )
            self.file_source = (message.path, message.text)
            self.source.load_text(self._file_note)
        else:
            self.file_source = None
            self.source.load_text(message.text)
        self._problem(Text.assemble("read ", t(message.path), f": {lines:,} lines", style="dim"))
        self.source.focus()

    def source_text(self) -> str:
        return self.file_source[1] if self.file_source is not None else self.source.text

    def action_preset(self, step: int) -> None:
        self.reason_field.step(step)

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
            # The table's measuring module takes ~0.1 s to import: not on the loop.
            await asyncio.to_thread(preload)
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
        self._preview_table = ToneTable(
            PREVIEW_COLUMNS,
            preview.cells,
            tone_columns={3: will_tone},
            column_widths=PREVIEW_WIDTHS,
            max_column_content_width=None,
            classes="preview-table",
        )
        self.query_one("#preview", Vertical).mount(self._preview_table)
        self.show_phase("preview")

    def preview_summary(self, preview: BatchPreview) -> Text:
        tone = tones(self.app.current_theme)
        plan = preview.plan
        text = Text()
        rows = len(plan.rows)
        text.append(f"{rows:,} order{'s' if rows != 1 else ''}", style="bold")
        if rows:
            text.append(": " + providers_text(plan.count_by_provider()))
        reasons = {row.request.reason for row in plan.rows}
        if len(reasons) == 1:
            text.append("\nreason: ")
            text.append(t(next(iter(reasons)), max_chars=200))
        elif reasons:
            text.append(f"\nreasons: {len(reasons)} different (from the rows)")
        counts = preview.counts
        journal = []
        if counts[Action.SKIP]:
            journal.append(Text(f"{counts[Action.SKIP]:,} settled earlier: skipped"))
        if counts[Action.RECHECK]:
            journal.append(
                Text(
                    f"{counts[Action.RECHECK]:,} unknown earlier: reconciled first, "
                    "sent only if untouched",
                    style=tone["warn"],
                )
            )
        if counts[Action.RESEND]:
            journal.append(Text(f"{counts[Action.RESEND]:,} failed earlier: sent again"))
        if journal:
            text.append("\njournal: ")
            text.append(Text(" · ").join(journal))
        elif rows:
            text.append("\njournal: no earlier attempt on these orders", style="dim")
        if plan.errors:
            text.append(
                f"\n{len(plan.errors):,} bad row{'s' if len(plan.errors) != 1 else ''}, not sent: ",
                style=f"bold {tone['bad']}",
            )
            listed = [
                Text(f"line {e.line_no}: ") + t(e.message, max_chars=100)
                for e in plan.errors[:BAD_ROWS_LISTED]
            ]
            text.append(Text("; ").join(listed))
            if len(plan.errors) > BAD_ROWS_LISTED:
                text.append(f"; … {len(plan.errors) - BAD_ROWS_LISTED:,} more below")
        if rows:
            text.append(
                f"\nr runs {preview.to_send:,} cancel(s), {preview.concurrency} at once "
                "(asks first) · esc edits",
                style="dim",
            )
        else:
            text.append("\nNothing to send. esc edits the rows.", style=tone["bad"])
        return text

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
        plan = preview.plan
        text = Text("Cancel ", style="bold")
        text.append(f"{len(plan.rows):,} order(s)", style="bold")
        text.append(" at ")
        text.append(providers_text(plan.count_by_provider()))
        text.append("?")
        return text

    def question_detail(self, preview: BatchPreview) -> Text:
        plan = preview.plan
        reasons = {row.request.reason for row in plan.rows}
        text = Text("Reason: ")
        if len(reasons) == 1:
            text.append(t(next(iter(reasons)), max_chars=120))
        else:
            text.append(f"{len(reasons)} different, from the rows")
        skip = preview.counts[Action.SKIP]
        text.append(f"\n{preview.to_send:,} cancel request(s) may be sent")
        if skip:
            text.append(f"; {skip:,} settled earlier are skipped")
        if preview.counts[Action.RECHECK]:
            text.append(f"; {preview.counts[Action.RECHECK]:,} reconciled first")
        text.append(".")
        if plan.errors:
            text.append(f"\n{len(plan.errors):,} bad row(s) are not sent.")
        return text

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
        self._results = ToneTable(
            RESULT_COLUMNS,
            tone_columns={3: WORD_TONE.get},
            column_widths=RESULT_WIDTHS,
            max_column_content_width=None,
            classes="results",
        )
        self.query_one("#run", Vertical).mount(self._results)
        self.query_one("#progress", ProgressBar).update(total=run.summary.total, progress=0)
        self._draw_run()
        self.show_phase("run")
        self.run_batch(run)

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
        summary = run.summary
        plan = run.preview.plan
        title = Text(f"Batch of {summary.total:,} order(s) at ", style="bold")
        title.append(providers_text(plan.count_by_provider()))
        title.append(" — ")
        if run.running:
            title.append("running", style=f"bold {tone['info']}")
            title.append(" · s stops · esc leaves it running", style="dim")
        elif run.error is not None:
            title.append("broke off: ", style=f"bold {tone['bad']}")
            title.append(t(run.error, max_chars=200))
        elif run.stopped:
            title.append("stopped", style=f"bold {tone['warn']}")
            title.append(
                f": {summary.not_run:,} not finished; any in flight stay unknown in the journal "
                "— run the batch again to reconcile them",
            )
        else:
            title.append("finished", style=f"bold {tone['good']}")
        # Fixed heights: a redraw ten times a second needs no layout pass.
        self.query_one("#run-title", Static).update(title, layout=False)
        counts = counts_text(summary, tone)
        elapsed = run.elapsed
        rate = summary.done / elapsed if elapsed > 0 else 0.0
        counts.append(
            f"\n{summary.done:,}/{summary.total:,} done · {summary.skipped:,} not sent"
            f" · {elapsed:.1f} s · {rate:.0f}/s",
            style="dim",
        )
        if plan.errors:
            counts.append(f" · {len(plan.errors):,} bad row(s) not sent", style=tone["bad"])
        self.query_one("#counts", Static).update(counts, layout=False)

    def action_stop(self) -> None:
        if self.batch_run is None or not self.batch_run.running:
            return
        self.workers.cancel_group(self, "batch-run")
        self.notify("Stopping: nothing new is sent.", timeout=3)

    # -- export ------------------------------------------------------------------------------

    def default_export_path(self) -> Path:
        service = self.stopline.service
        assert service is not None
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return service.settings.resolved_data_dir() / "exports" / f"batch-{stamp}.csv"

    def action_export(self) -> None:
        if self.batch_run is None:
            return
        default = self.default_export_path()
        self.app.push_screen(ExportScreen(default), callback=self._export_to(default))

    def _export_to(self, default: Path):  # type: ignore[no-untyped-def]
        def chosen(path: Path | None) -> None:
            if path is not None and self.batch_run is not None:
                rows = export_rows(self.batch_run.summary, self.batch_run.preview.plan)
                self.export(path, rows, make_parent=path.parent == default.parent)

        return chosen

    @work(thread=True, group="batch-export", exit_on_error=False)
    def export(self, path: Path, rows: list[list[str]], *, make_parent: bool) -> None:
        try:
            write_export(path, rows, make_parent=make_parent)
        except FileExistsError:
            self.post_message(msg.ExportWritten(path, 0, "a file of that name exists already"))
        except OSError as exc:
            self.post_message(msg.ExportWritten(path, 0, exc.strerror or str(exc)))
        else:
            self.post_message(msg.ExportWritten(path, len(rows)))

    @on(msg.ExportWritten)
    def _exported(self, message: msg.ExportWritten) -> None:
        if message.error is not None:
            self.notify(
                f"{clean(message.path)}: {clean(message.error)}",
                title="export failed",
                severity="error",
                markup=False,
            )
        else:
            self.notify(
                f"{message.rows:,} row(s) → {clean(message.path)}",
                title="results exported",
                markup=False,
            )

    # -- keys --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        running = self.batch_run is not None and self.batch_run.running
        if action == "preview":
            if self.phase != "form":
                return False
            return None if self.previewing else True
        if action == "preset":
            return self.phase == "form" and self.focused is self.reason_field.input
        if action == "run":
            if self.phase != "preview":
                return False
            ready = self.preview is not None and bool(self.preview.plan.rows) and not running
            return True if ready else None
        if action == "stop":
            return self.phase == "run" and running
        if action == "export":
            return (
                self.phase == "run"
                and self.batch_run is not None
                and bool(self.batch_run.summary.done)
            )
        return True

    def _refresh_keys(self) -> None:
        state = tuple(
            self.check_action(a, ()) for a in ("preview", "preset", "run", "stop", "export")
        )
        if state != self._key_state:
            self._key_state = state
            self.refresh_bindings()

    def on_descendant_focus(self) -> None:
        self._refresh_keys()

    def action_back(self) -> None:
        running = self.batch_run is not None and self.batch_run.running
        if self.phase == "preview" or (self.phase == "run" and not running):
            self.show_phase("form")
        elif self.phase == "run":
            self.notify("The batch keeps running; b comes back to it.", timeout=3)
            self.dismiss()
        else:
            self.dismiss()

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        """Commands the palette offers while this screen is open."""
        offered = [
            ("preview", "Preview batch", "Check the rows and the journal  (ctrl+r)"),
            ("run", "Run batch", "Send the cancels, after a y/n question  (r)"),
            ("stop", "Stop batch", "Stop scheduling; in-flight ones stay unknown  (s)"),
            ("export", "Export batch results", "Write the results as CSV  (e)"),
        ]
        return [
            (name, help_text, getattr(self, f"action_{action}"))
            for action, name, help_text in offered
            if self.check_action(action, ())
        ]


class ExportScreen(ModalScreen["Path | None"]):
    """Where to write the CSV: the data folder's ``exports/``, or a typed path."""

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

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @on(Input.Submitted, "#export-path")
    def _submitted(self, event: Input.Submitted) -> None:
        raw = event.value.strip()
        if raw:
            self.dismiss(Path(raw).expanduser())
