"""``h``: the journal's cancel attempts, newest first — filter, detail, re-check.

The journal is read in a thread (another Stopline process may hold its lock for a moment);
rows are prepared there too. ``r`` settles an ``unknown`` attempt, or confirms an initiated
one, by looking the order up (``service.recheck``): it never sends a cancel. Every journal
value reaches the screen through ``clean`` as plain ``Text`` or plain table cells.

One idea, kept whole: the history screen (its rows and detail live beside it).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Static

from tui import messages as msg
from tui.core.domain import Outcome
from tui.core.providers import registry
from tui.core.text import clean
from tui.host import ConsoleHost, host
from tui.screens.history_detail import AttemptDetailScreen
from tui.screens.history_rows import (
    COLUMNS,
    HISTORY_LIMIT,
    OUTCOME_COLUMN,
    WORD_TONE,
    attempt_cells,
    fit_widths,
    haystack,
    matches,
    needs_recheck,
    outcome_word,
)
from tui.themes import tones
from tui.widgets.fasttable import ToneTable, preload
from tui.widgets.fields import FieldLeft, TextField
from tui.widgets.text import t
from tui.widgets.topbar import TopBar

if TYPE_CHECKING:
    from tui.core.journal import Attempt

log = logging.getLogger("stopline.console")





class HistoryTable(ToneTable):
    """The attempts; ``enter`` opens the highlighted one's detail (``RowSelected``)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "select_cursor",
            "Detail",
            id="stopline.history.detail",
            tooltip="Show everything recorded about the highlighted attempt",
        ),
    ]


class HistoryScreen(Screen[None]):
    """The attempts table under a filter field; a status line says what is shown, a line
    under the table the highlighted attempt whole."""

    HELP_TITLE = "history"
    AUTO_FOCUS = ""  # nothing: the table takes focus once the journal is read
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "back",
            "Back",
            id="stopline.history.back",
            tooltip="Back out: clear the filter, then back to the lookup screen",
        ),
        Binding(
            "slash",
            "focus_filter",
            "Filter",
            id="stopline.history.filter",
            tooltip="Narrow the list by order, provider, outcome or operator",
        ),
        Binding(
            "r",
            "recheck",
            "Re-check",
            id="stopline.history.recheck",
            tooltip="Look the order up to settle an unknown or unconfirmed attempt (sends no "
            "cancel)",
        ),
        Binding("j", "cursor(1)", "Down", show=False, id="stopline.history.down"),
        Binding("k", "cursor(-1)", "Up", show=False, id="stopline.history.up"),
    ]

    DEFAULT_CSS = """
    HistoryScreen { layout: vertical; }
    HistoryScreen #filter-row { height: 1; margin: 1 0 0 0; }
    HistoryScreen #filter-row > Label { width: auto; padding: 0 1; color: $text-muted; }
    HistoryScreen #filter { width: 1fr; }
    HistoryScreen #history-status { height: 1; padding: 0 1; margin: 1 0 0 0; }
    HistoryScreen #history-body { height: 1fr; }
    HistoryScreen #history-note { padding: 1 1; }
    HistoryScreen #history-row { height: 2; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.attempts: list[Attempt] = []
        self.cells: list[list[str]] = []
        self.haystacks: list[str] = []
        self.shown_rows: list[int] = []
        """Indexes into ``attempts`` of the rows shown, in table order."""
        self.loaded = False
        self.problem: str | None = None
        self.checking: set[int] = set()
        self.recheck_notes: dict[int, tuple[str, bool]] = {}
        """Attempt id → what its latest re-check here found (and whether it failed)."""
        self._table: HistoryTable | None = None
        self._key_state: tuple[bool | None, ...] = ()

    @property
    def stopline(self) -> ConsoleHost:
        return host(self)

    # -- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield TopBar(id="topbar")
        with Horizontal(id="filter-row"):
            yield Label("Filter")
            yield TextField(
                placeholder="/ then order, provider, outcome or operator words",
                id="filter",
                compact=True,
                keys_when_empty=("question_mark", "colon"),
            )
        yield Static(id="history-status")
        with Vertical(id="history-body"):
            yield Static(Text("Reading the journal…", style="dim"), id="history-note")
        yield Static(id="history-row")
        yield Footer()

    def on_mount(self) -> None:
        app = self.stopline
        self.query_one(TopBar).set_state(
            state=app.connection_state, demo=app.demo, read_only=app.read_only
        )
        self.reload()

    @property
    def filter_input(self) -> Input:
        return self.query_one("#filter", Input)

    @property
    def table(self) -> HistoryTable | None:
        return self._table

    # -- reading -----------------------------------------------------------------------------

    def reload(self) -> None:
        if self.stopline.service is None:
            self.problem = "Still connecting: the journal opens with the providers."
            self._show_note(Text(self.problem, style="bold"))
            self._refresh_status()
            return
        self.read_journal()

    @work(exclusive=True, group="history-read", exit_on_error=False)
    async def read_journal(self) -> None:
        service = self.stopline.service
        assert service is not None
        try:
            # The table's measuring module takes ~0.1 s to import: not on the loop.
            await asyncio.to_thread(preload)
            attempts: list[Attempt] = await service.attempts(limit=HISTORY_LIMIT)
            flying = [service.in_flight(a) for a in attempts]
            cells, stacks = await asyncio.to_thread(
                lambda: (
                    [attempt_cells(a, f) for a, f in zip(attempts, flying, strict=True)],
                    [haystack(a, f) for a, f in zip(attempts, flying, strict=True)],
                )
            )
        except Exception as exc:
            log.exception("reading the journal failed")
            self.post_message(msg.HistoryLoaded([], [], [], error=f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(msg.HistoryLoaded(attempts, cells, stacks))

    @on(msg.HistoryLoaded)
    def _loaded(self, message: msg.HistoryLoaded) -> None:
        self.loaded = True
        if message.error is not None:
            self.problem = f"Cannot read the journal: {message.error}"
            self._show_note(t(self.problem, "bold red"))
            self._refresh_status()
            return
        self.problem = None
        self.attempts, self.cells, self.haystacks = (
            message.attempts,
            message.cells,
            message.haystacks,
        )
        self.apply_filter()

    # -- showing -----------------------------------------------------------------------------

    def _show_note(self, text: Text) -> None:
        if self._table is not None:
            self._table.remove()
            self._table = None
        note = self.query_one("#history-note", Static)
        note.update(text)
        note.display = True
        self.query_one("#history-row", Static).update("")
        self._refresh_keys()

    def apply_filter(self) -> None:
        """Show the attempts matching the filter; keep the highlighted one if still shown."""
        keep = self.highlighted()
        query = self.filter_input.value.strip()
        if query:
            self.shown_rows = [i for i, text in enumerate(self.haystacks) if matches(text, query)]
        else:
            self.shown_rows = list(range(len(self.attempts)))
        self._refresh_status()
        if not self.shown_rows:
            self._show_note(
                Text("No attempts match the filter." if query else "No attempts recorded yet.")
            )
            return
        self.query_one("#history-note", Static).display = False
        had_focus = self._table is not None and self._table.has_focus
        if self._table is not None:
            self._table.remove()
        shown = [self.cells[i] for i in self.shown_rows]
        self._table = HistoryTable(
            COLUMNS,
            shown,
            tone_columns={OUTCOME_COLUMN: WORD_TONE.get},
            column_widths=fit_widths(self.size.width, shown),
            max_column_content_width=None,
            classes="history-table",
        )
        self.query_one("#history-body").mount(self._table)
        if keep is not None:
            row = next(
                (n for n, i in enumerate(self.shown_rows) if self.attempts[i].id == keep.id), 0
            )
            if row:
                self._table.move_cursor(row=row)
        if had_focus or not self.filter_input.has_focus:
            self._table.focus()
        self.call_after_refresh(self._show_row)
        self._refresh_keys()

    def _refresh_status(self) -> None:
        status = self.query_one("#history-status", Static)
        if self.problem is not None or not self.loaded:
            status.update("")
            return
        tone = tones(self.app.current_theme)
        total = len(self.attempts)
        text = Text()
        if len(self.shown_rows) != total:
            text.append(f"{len(self.shown_rows)} of {total} attempts match")
        else:
            more = " (the newest)" if total >= HISTORY_LIMIT else ""
            text.append(f"{total} attempt{'s' if total != 1 else ''}{more}, newest first")
        unknown = sum(1 for i in self.shown_rows if self.attempts[i].outcome is Outcome.UNKNOWN)
        if unknown:
            text.append(" · ")
            text.append(f"{unknown} unknown", style=tone["warn"])
            text.append(" — r re-checks", style="dim")
        if self.checking:
            text.append(f" · re-checking {len(self.checking)}…", style="dim")
        status.update(text)

    def highlighted(self) -> Attempt | None:
        table = self._table
        if table is None or not self.shown_rows or not table.is_mounted:
            return None
        row = table.cursor_index
        if row is None or not 0 <= row < len(self.shown_rows):
            return None
        return self.attempts[self.shown_rows[row]]

    @on(ToneTable.RowHighlighted, ".history-table")
    def _row_highlighted(self) -> None:
        self._show_row()
        self._refresh_keys()

    def _show_row(self) -> None:
        """The highlighted attempt whole, and what its last re-check here found (each ``r``
        replaces the one before)."""
        attempt = self.highlighted()
        line = self.query_one("#history-row", Static)
        if attempt is None:
            line.update("")
            return
        tone = tones(self.app.current_theme)
        text = Text.assemble(
            (f"#{attempt.id} ", "dim"),
            (registry.label(attempt.provider), "bold"),
            " ",
            t(attempt.order_id, "bold", max_chars=64),
            " · ",
            t(attempt.operator, max_chars=40),
            " · reason: ",
            t(attempt.reason, max_chars=200),
        )
        if attempt.message and attempt.message != attempt.reason:
            text.append(" · ")
            text.append(t(attempt.message, max_chars=200))
        note = self.recheck_notes.get(attempt.id)
        if note is not None:
            words, failed = note
            text.append("\nre-check: ", style=tone["bad" if failed else "warn"])
            text.append(t(words, max_chars=300))
        line.update(text)

    @on(ToneTable.RowSelected, ".history-table")
    def _row_selected(self) -> None:
        self.action_detail()

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        if self.loaded and self.problem is None:
            self.apply_filter()

    @on(Input.Submitted, "#filter")
    @on(FieldLeft, "#filter")
    def _filter_submitted(self) -> None:
        if self._table is not None:
            self._table.focus()

    # -- actions -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        typing = isinstance(self.focused, Input)
        if action == "recheck":
            if typing:
                return False
            attempt = self.highlighted()
            if attempt is None or not needs_recheck(attempt):
                return False
            return None if attempt.id in self.checking else True
        if action == "cursor":
            return not typing and self.highlighted() is not None
        return True

    def _refresh_keys(self) -> None:
        state = (self.check_action("recheck", ()), self.check_action("cursor", ()))
        if state != self._key_state:
            self._key_state = state
            self.refresh_bindings()

    def on_descendant_focus(self) -> None:
        self._refresh_keys()

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        """Commands the palette offers while this screen is open."""
        commands: list[tuple[str, str, Any]] = [
            (
                "Filter history",
                "Narrow by order, provider, outcome, operator  (/)",
                self.action_focus_filter,
            )
        ]
        if self.highlighted() is not None:
            commands.append(("Attempt detail", "Everything recorded  (enter)", self.action_detail))
        attempt = self.highlighted()
        if attempt is not None and needs_recheck(attempt) and attempt.id not in self.checking:
            commands.append(
                (
                    "Re-check attempt",
                    "Look the order up to settle it; sends no cancel  (r)",
                    self.action_recheck,
                )
            )
        return commands

    def action_back(self) -> None:
        """Outside the filter field (``escape`` there leaves it): clear the filter, then
        back to the lookup screen."""
        if self.filter_input.value:
            self.filter_input.value = ""
            return
        self.dismiss()

    def action_focus_filter(self) -> None:
        self.filter_input.focus()
        self.filter_input.select_all()

    def action_cursor(self, by: int) -> None:
        if self._table is not None:
            if by > 0:
                self._table.action_cursor_down()
            else:
                self._table.action_cursor_up()

    def action_detail(self) -> None:
        attempt = self.highlighted()
        if attempt is not None:
            service = self.stopline.service
            flying = service.in_flight(attempt) if service is not None else False
            self.app.push_screen(AttemptDetailScreen(attempt, in_flight=flying))

    def action_recheck(self) -> None:
        attempt = self.highlighted()
        service = self.stopline.service
        if attempt is None or service is None:
            return
        if not needs_recheck(attempt):
            self.notify("This attempt is settled; nothing to re-check.", timeout=3)
            return
        if attempt.id in self.checking:
            return
        self.checking.add(attempt.id)
        self._refresh_status()
        self._refresh_keys()
        self.recheck(attempt)

    @work(group="history-recheck", exit_on_error=False)
    async def recheck(self, attempt: Attempt) -> None:
        """The core reconciles the attempt by look-up and records it; never a re-send."""
        service = self.stopline.service
        assert service is not None
        try:
            result = await service.recheck(attempt.id)
        except Exception as exc:
            log.exception("re-check of attempt %s failed", attempt.id)
            self.post_message(
                msg.AttemptRechecked(
                    attempt.id, None, f"{type(exc).__name__}: {exc}", settled=False, failed=True
                )
            )
            return
        fresh = result.attempt
        verdict = result.verdict.value
        if verdict == "not_applied":
            note = f"not applied: {result.words}; the order may be cancelled again"
        elif verdict == "applied":
            note = f"now {outcome_word(fresh)}: {result.words}"
        else:
            note = f"still {outcome_word(fresh, service.in_flight(fresh))}: {result.words}"
        settled = verdict in {"applied", "not_applied", "settled"}
        self.post_message(
            msg.AttemptRechecked(attempt.id, fresh, note, settled=settled, failed=False)
        )

    @on(msg.AttemptRechecked)
    def _rechecked(self, message: msg.AttemptRechecked) -> None:
        """Said under the table, in place of the attempt's previous re-check (a toast per
        ``r`` would pile the same words up)."""
        self.checking.discard(message.attempt_id)
        self.recheck_notes[message.attempt_id] = (
            clean(message.note, max_chars=300),
            message.failed,
        )
        if message.attempt is not None:
            self._replace(message.attempt)
        self._show_row()
        self._refresh_status()
        self._refresh_keys()

    def _replace(self, attempt: Attempt) -> None:
        self._merge([attempt])

    @on(msg.AttemptsWritten)
    def _attempts_written(self, message: msg.AttemptsWritten) -> None:
        """The floor's attempts as they are written: changed rows are redrawn, new ones
        appear at the top (the journal is newest first), withdrawn claims never show."""
        if self.loaded and self.problem is None:
            self._merge(message.attempts)

    def _merge(self, attempts: list[Attempt]) -> None:
        service = self.stopline.service
        where = {a.id: i for i, a in enumerate(self.attempts)}
        newest: dict[int, Attempt] = {}
        for attempt in attempts:  # one attempt may come several times in a burst
            if attempt.id not in newest or newest[attempt.id].version <= attempt.version:
                newest[attempt.id] = attempt
        fresh: list[Attempt] = []
        for attempt in newest.values():
            index = where.get(attempt.id)
            if attempt.state.value == "withdrawn":
                continue
            if index is None:
                fresh.append(attempt)
                continue
            if attempt.version < self.attempts[index].version:
                continue
            flying = service.in_flight(attempt) if service is not None else False
            self.attempts[index] = attempt
            self.cells[index] = attempt_cells(attempt, flying)
            self.haystacks[index] = haystack(attempt, flying)
        if fresh:
            fresh.sort(key=lambda a: a.id, reverse=True)
            flags = [service.in_flight(a) if service is not None else False for a in fresh]
            self.attempts[:0] = fresh
            self.cells[:0] = [attempt_cells(a, f) for a, f in zip(fresh, flags, strict=True)]
            self.haystacks[:0] = [haystack(a, f) for a, f in zip(fresh, flags, strict=True)]
            del self.attempts[HISTORY_LIMIT:], self.cells[HISTORY_LIMIT:]
            del self.haystacks[HISTORY_LIMIT:]
        self.apply_filter()


