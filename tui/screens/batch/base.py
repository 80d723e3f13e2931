"""The batch screen's state and the helpers every phase shares (form, preview, run, export:
one module each, mixed into :class:`~tui.screens.batch.screen.BatchScreen`)."""


from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from rich.text import Text
from textual.screen import Screen
from textual.widgets import (
    ContentSwitcher,
    Select,
    Static,
    TextArea,
)

from tui.core.vocabulary import RowStatus
from tui.host import ConsoleHost, host
from tui.screens.batch.model import (
    BatchPreview,
    BatchRun,
)
from tui.widgets.reason import ReasonField
from tui.widgets.rowtable import RowTable

if TYPE_CHECKING:
    pass

log = logging.getLogger("stopline.console")

Phase = Literal["form", "preview", "run"]

FLUSH_S = 0.1
"""How often a run's new results reach the screen."""
EDITABLE_LINES = 10_000
"""A loaded file longer than this is used as it is, not put in the text area (editing a
text area of 100,000 lines costs ~0.15 s a keystroke)."""

PREVIEW_COLUMNS = ["line", "provider", "order", "will", "items"]
PREVIEW_WIDTHS = [5, 11, 24, 60, 40]
RESULT_COLUMNS = ["line", "provider", "order", "outcome", "conf", "HTTP", "detail"]
RESULT_WIDTHS = [5, 11, 24, 9, 4, 4, 80]
"""The widest each column needs; :func:`fit_widths` narrows the last to the screen."""


def fit_widths(
    widths: list[int], available: int, *, flexible: int = 1, least: int = 12
) -> list[int]:
    """``widths`` with the last ``flexible`` columns narrowed in proportion so the table fits
    ``available`` cells (each column has a cell of padding each side, plus the scrollbar);
    the row detail line under the table shows a narrowed cell whole."""
    fixed = sum(widths[:-flexible]) + 2 * len(widths) + 1
    wanted = widths[-flexible:]
    room = max(least * flexible, available - fixed)
    if sum(wanted) <= room:
        return list(widths)
    scaled = [max(least, room * w // sum(wanted)) for w in wanted]
    return [*widths[:-flexible], *scaled]
WORD_TONE = {status.words: status.tone for status in RowStatus}




class BatchScreenBase(Screen[None]):
    """What the batch screen's phases share: its state, its fields, its phase switch."""

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
        self._preview_table: RowTable | None = None
        self._results: RowTable | None = None
        self._key_state: tuple[bool | None, ...] = ()

    @property
    def stopline(self) -> ConsoleHost:
        return host(self)

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

    def show_phase(self, phase: Phase, *, focus: bool = True) -> None:
        self.phase = phase
        self.query_one(ContentSwitcher).current = phase
        self._show_row_detail(None)
        self.query_one("#row-detail", Static).display = phase != "form"
        if phase == "form":
            if focus:
                self.source.focus()
            else:
                self.set_focus(None)
        elif phase == "preview" and self._preview_table is not None:
            self._preview_table.focus()
        elif phase == "run" and self._results is not None:
            self._results.focus()
        self._refresh_keys()

    def _problem(self, text: str | Text) -> None:
        self.query_one("#form-problem", Static).update(
            text if isinstance(text, Text) else Text(text)
        )

    def _show_row_detail(self, text: Text | None) -> None:
        """The highlighted row's full detail, below the table (its column is narrow)."""
        self.query_one("#row-detail", Static).update(text or "")

    def _refresh_keys(self) -> None:
        state = tuple(
            self.check_action(a, ())
            for a in ("edit", "preview", "preset", "run", "stop", "export")
        )
        if state != self._key_state:
            self._key_state = state
            self.refresh_bindings()

