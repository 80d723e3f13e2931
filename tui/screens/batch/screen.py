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

from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import (
    ContentSwitcher,
    Label,
    ProgressBar,
    Select,
    Static,
    TextArea,
)

from tui.core.batch import (
    DEFAULT_CONCURRENCY,
)
from tui.widgets.area_field import TextAreaField
from tui.widgets.fields import FieldLeft, TextField
from tui.widgets.reason import ReasonField
from tui.widgets.topbar import TopBar

if TYPE_CHECKING:
    pass
from tui.screens.batch.export import BatchExporting
from tui.screens.batch.form import BatchForm
from tui.screens.batch.preview import BatchPreviewing
from tui.screens.batch.run import BatchRunning
from tui.widgets.keys_footer import KeysFooter


class BatchScreen(BatchRunning, BatchPreviewing, BatchExporting, BatchForm):
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
            "enter",
            "edit",
            "Edit rows",
            id="stopline.batch.edit",
            tooltip="Back into the rows' text (esc leaves it again)",
        ),
        Binding(
            "down",
            "preset(1)",
            "Next reason",
            show=False,
            id="stopline.batch.next_reason",
            tooltip="Next preset reason",
        ),
        Binding(
            "up",
            "preset(-1)",
            "Prev reason",
            show=False,
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
    BatchScreen #source-label { margin: 0 0 0 1; }
    BatchScreen.-tall #source-label { margin: 1 0 0 1; }
    BatchScreen #source { height: 1fr; min-height: 5; }
    BatchScreen .row { height: 1; }
    BatchScreen.-tall .row { margin: 1 0 0 0; }
    BatchScreen .row > Label { width: auto; padding: 0 1; color: $text-muted; }
    BatchScreen #path { width: 1fr; }
    BatchScreen #provider { width: 1fr; }
    BatchScreen #concurrency { width: 6; }
    BatchScreen #reason-label { margin: 0 0 0 1; }
    BatchScreen.-tall #reason-label { margin: 1 0 0 1; }
    BatchScreen #form-problem { color: $error; text-style: bold; padding: 0 1; height: auto; }
    BatchScreen #preview-summary { padding: 0 1; margin: 1 0; height: auto; max-height: 10; }
    BatchScreen #run-title { padding: 0 1; margin: 1 0 0 0; height: 2; }
    BatchScreen #progress { padding: 0 1; height: 1; }
    BatchScreen #counts { padding: 0 1; height: 2; margin: 0 0 1 0; }
    BatchScreen #row-detail { padding: 0 1; height: 2; color: $text-muted; }
    """

    HELP_TITLE = "batch"
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [
        (0, "-short"),
        (32, "-tall"),
    ]

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
                yield TextAreaField(id="source", soft_wrap=False, show_line_numbers=True)
                with Horizontal(classes="row"):
                    yield Label("File")
                    yield TextField(
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
                    yield TextField(
                        str(DEFAULT_CONCURRENCY), id="concurrency", type="integer", compact=True
                    )
                yield Label(
                    "Reason for rows without one — a number takes a preset; letters start "
                    "your own",
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
        yield Static(id="row-detail")  # shown with the preview and the run
        yield KeysFooter()

    def on_mount(self) -> None:
        app = self.stopline
        self.query_one(TopBar).set_state(
            state=app.connection_state, demo=app.demo, read_only=app.read_only
        )
        self.query_one("#source", TextArea).focus()
        self.query_one("#row-detail", Static).display = False

    # -- keys --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        running = self.batch_run is not None and self.batch_run.running
        if action == "edit":
            return self.phase == "form" and self.focused is None
        if action == "preview":
            if self.phase != "form":
                return False
            return None if self.previewing else True
        if action == "preset":
            return self.phase == "form" and self.focused in (
                self.reason_field.input,
                self.reason_field.preset_list,
            )
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

    def on_descendant_focus(self) -> None:
        self._refresh_keys()

    def on_descendant_blur(self) -> None:
        self._refresh_keys()

    @on(FieldLeft)
    def _field_left(self) -> None:
        self.call_after_refresh(self._refresh_keys)

    def action_edit(self) -> None:
        self.source.focus()

    def action_back(self) -> None:
        running = self.batch_run is not None and self.batch_run.running
        if self.phase == "preview" or (self.phase == "run" and not running):
            # Back to the form with no field focused: a key pressed next is a key, not a
            # row (enter edits the rows again).
            self.show_phase("form", focus=False)
        elif self.phase == "run":
            self.notify("The batch keeps running; b comes back to it.", timeout=3)
            self.dismiss()
        else:
            self.dismiss()

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        """Commands the palette offers while this screen is open."""
        offered = [
            ("edit", "Edit batch rows", "Back into the rows' text  (enter)"),
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
