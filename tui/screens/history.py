"""``h``: the journal's cancel attempts, newest first — filter, detail, re-check.

The journal is read off the event loop (another Stopline process may hold its lock for a
moment), a page at a time: the newest page shows at once and the rest follow, so the screen
opens as fast on a journal of a million attempts as on an empty one. A row's cells are made
when it is drawn, and the filter's text when a filter is first typed. ``r`` settles an
``unknown`` attempt, or confirms an initiated one, by looking the order up
(``service.recheck``): it never sends a cancel. Every journal value reaches the screen
through ``clean`` as plain ``Text`` or plain table cells.

One idea, kept whole: the history screen (its rows and detail live beside it).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Input, Label, Static

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
from tui.widgets.fields import FieldLeft, TextField
from tui.widgets.keys_footer import KeysFooter
from tui.widgets.rowtable import RowTable
from tui.widgets.text import t
from tui.widgets.topbar import TopBar

if TYPE_CHECKING:
    from tui.core.journal import Attempt

log = logging.getLogger("stopline.console")

FIRST_PAGE = 100
"""Attempts read before the screen shows them; the rest follow in pages of PAGE."""
PAGE = 1_000
OLDER_PAGES_AFTER_S = 0.1
"""The older pages start this long after the first is shown: turning a page of rows into
attempts holds the interpreter for tens of milliseconds, which would hold back the frames
that draw the first screenful and its keys (bench/history.py)."""


class HistoryTable(RowTable):
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


class _ShownRows:
    """The table's rows: the attempts the filter shows, their cells made when drawn."""

    def __init__(self, screen: HistoryScreen) -> None:
        self.screen = screen

    def __len__(self) -> int:
        return len(self.screen.shown_rows)

    def cells(self, index: int) -> list[str]:
        return self.screen.cells_of(self.screen.shown_rows[index])


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
        self.flying: list[bool] = []
        """Whether each attempt was in flight when read."""
        self._cells: dict[int, list[str]] = {}
        """Cells of the attempts drawn so far, by index into ``attempts``."""
        self.haystacks: list[str] = []
        """What the filter searches, made for every attempt when a filter is first typed."""
        self.shown_rows: list[int] = []
        """Indexes into ``attempts`` of the rows shown, in table order."""
        self.loaded = False
        self._news_before_first: list[Attempt] = []
        """The floor's news that came while the first page was read."""
        self.complete = False
        """Every page read (up to HISTORY_LIMIT)."""
        self.problem: str | None = None
        self.checking: set[int] = set()
        self.recheck_notes: dict[int, tuple[str, bool]] = {}
        """Attempt id → what its latest re-check here found (and whether it failed)."""
        self._early: dict[int, Attempt] = {}
        """Attempts written on the floor before their page was read, by id (the page takes
        the newer version)."""
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
        yield KeysFooter()

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
    async def read_journal(self, after: Attempt | None = None) -> None:
        """One page: the newest FIRST_PAGE attempts, or the PAGE after ``after``. The next
        page is asked for once this one is on screen — the second OLDER_PAGES_AFTER_S after
        the first (see :meth:`_loaded`) — so reading the rest never competes with drawing
        the first."""
        service = self.stopline.service
        assert service is not None
        size = FIRST_PAGE if after is None else min(PAGE, HISTORY_LIMIT - len(self.attempts))
        try:
            page: list[Attempt] = await service.attempts(limit=size, after=after)
            flying = [service.in_flight(a) for a in page]
        except Exception as exc:
            log.exception("reading the journal failed")
            if after is None:
                self.post_message(msg.HistoryLoaded([], [], error=f"{type(exc).__name__}: {exc}"))
            else:  # what was read stays
                self.post_message(msg.HistoryLoaded([], [], first=False, complete=True))
            return
        read = len(page) + (0 if after is None else len(self.attempts))
        complete = len(page) < size or read >= HISTORY_LIMIT
        self.post_message(msg.HistoryLoaded(page, flying, first=after is None, complete=complete))

    @on(msg.HistoryLoaded)
    def _loaded(self, message: msg.HistoryLoaded) -> None:
        self.loaded = True
        if message.error is not None:
            self.problem = f"Cannot read the journal: {message.error}"
            self._show_note(t(self.problem, "bold red"))
            self._refresh_status()
            return
        self.problem = None
        self.complete = message.complete
        if not message.complete and message.attempts:
            last = message.attempts[-1]
            if message.first:  # once the first screenful and its keys are drawn
                self.set_timer(OLDER_PAGES_AFTER_S, lambda: self.read_journal(last))
            else:
                self.call_after_refresh(lambda: self.read_journal(last))
        if message.first:
            self.attempts, self.flying = list(message.attempts), list(message.in_flight)
            self._cells.clear()
            self.haystacks = []
            self._early.clear()
            self.apply_filter()
            news, self._news_before_first = self._news_before_first, []
            if news:  # written while the first page was read: it may predate them
                self._merge(news)
            return
        start = len(self.attempts)
        self.attempts.extend(message.attempts)
        self.flying.extend(message.in_flight)
        if self._early:
            self._take_early(start)
        query = self.filter_input.value.strip()
        added = range(start, len(self.attempts))
        if query:
            self._make_haystacks()
            self.shown_rows.extend(i for i in added if matches(self.haystacks[i], query))
        else:
            self.shown_rows.extend(added)
        if self._table is not None:
            self._table.rows_changed()
        elif self.shown_rows:
            self.apply_filter()
        self._refresh_status()

    def _later_news(self, attempt: Attempt) -> None:
        """Keep ``attempt``, written on the floor, for the page that will bring it."""
        known = self._early.get(attempt.id)
        if known is None or known.version <= attempt.version:
            self._early[attempt.id] = attempt

    def _take_early(self, start: int) -> None:
        """The attempts read from ``start`` on, each in its newest version seen."""
        service = self.stopline.service
        for index in range(start, len(self.attempts)):
            newer = self._early.pop(self.attempts[index].id, None)
            if newer is not None and newer.version > self.attempts[index].version:
                self.attempts[index] = newer
                self.flying[index] = service.in_flight(newer) if service is not None else False
        if self.complete:
            self._early.clear()

    def cells_of(self, index: int) -> list[str]:
        """The cells of attempt ``index``, made the first time its row is drawn."""
        cells = self._cells.get(index)
        if cells is None:
            cells = attempt_cells(self.attempts[index], self.flying[index])
            self._cells[index] = cells
        return cells

    def _make_haystacks(self) -> None:
        for index in range(len(self.haystacks), len(self.attempts)):
            self.haystacks.append(haystack(self.attempts[index], self.flying[index]))

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

    def apply_filter(self, keep: Attempt | None = None) -> None:
        """Show the attempts matching the filter; keep the highlighted one (or ``keep``,
        read before the attempts changed under the rows shown) if still shown."""
        keep = keep or self.highlighted()
        query = self.filter_input.value.strip()
        if query:
            self._make_haystacks()
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
        widths = fit_widths(self.size.width, self._measured())
        if self._table is None:
            self._table = HistoryTable(
                COLUMNS,
                _ShownRows(self),
                widths=widths,
                tone_columns={OUTCOME_COLUMN: WORD_TONE.get},
                classes="history-table",
            )
            self.query_one("#history-body").mount(self._table)
        else:
            self._table.set_widths(widths)
            self._table.set_source(_ShownRows(self))
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

    def _measured(self) -> list[list[str]]:
        """The rows the columns are fitted to: the first screenful shown, whose cells are
        made to be drawn anyway (a later row wider than its column is cut there, and the
        line under the table shows it whole)."""
        return [self.cells_of(i) for i in self.shown_rows[: max(1, self.size.height)]]

    def on_resize(self) -> None:
        if self._table is not None and self.shown_rows:
            self._table.set_widths(fit_widths(self.size.width, self._measured()))

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
        if not self.complete:
            text.append(" · reading more…", style="dim")
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

    @on(RowTable.RowHighlighted, ".history-table")
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

    @on(RowTable.RowSelected, ".history-table")
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
        if not self.loaded:  # the first page is being read: merged once it is shown
            self._news_before_first.extend(message.attempts)
        elif self.problem is None:
            self._merge(message.attempts)

    def _merge(self, attempts: list[Attempt]) -> None:
        service = self.stopline.service
        keep = self.highlighted()  # before the lists move under the rows shown
        where = {a.id: i for i, a in enumerate(self.attempts)}
        newest: dict[int, Attempt] = {}
        for attempt in attempts:  # one attempt may come several times in a burst
            if attempt.id not in newest or newest[attempt.id].version <= attempt.version:
                newest[attempt.id] = attempt
        oldest = self.attempts[-1].id if self.attempts else None
        fresh: list[Attempt] = []
        older: list[Attempt] = []
        gone: list[int] = []
        for attempt in newest.values():
            index = where.get(attempt.id)
            if attempt.state.value == "withdrawn":
                if index is not None:
                    gone.append(index)  # a claim shown while held, withdrawn since
                continue
            if index is None:
                if oldest is not None and attempt.id < oldest:
                    if not self.complete:
                        self._later_news(attempt)  # its page is yet to be read
                    elif len(self.attempts) < HISTORY_LIMIT:
                        older.append(attempt)  # below the last row, in its place
                    continue  # else: older than the newest HISTORY_LIMIT, not shown
                fresh.append(attempt)
                continue
            if attempt.version < self.attempts[index].version:
                continue
            flying = service.in_flight(attempt) if service is not None else False
            self.attempts[index] = attempt
            self.flying[index] = flying
            self._cells.pop(index, None)
            if index < len(self.haystacks):
                self.haystacks[index] = haystack(attempt, flying)
        if gone:
            for index in sorted(gone, reverse=True):
                del self.attempts[index], self.flying[index]
                if index < len(self.haystacks):
                    del self.haystacks[index]
            self._cells.clear()  # kept by index, and the indexes moved
        if older:
            older.sort(key=lambda a: a.id, reverse=True)
            self.attempts.extend(older)
            self.flying.extend(
                service.in_flight(a) if service is not None else False for a in older
            )  # haystacks are a prefix, made up to the end when a filter needs them
        if fresh:
            fresh.sort(key=lambda a: a.id, reverse=True)
            flags = [service.in_flight(a) if service is not None else False for a in fresh]
            count = len(fresh)
            self.attempts[:0] = fresh
            self.flying[:0] = flags
            # Cells are kept by index: every row drawn so far moved down by ``count``.
            self._cells = {
                index + count: cells
                for index, cells in self._cells.items()
                if index + count < HISTORY_LIMIT
            }
            if self.haystacks:  # made for a prefix of the attempts: still one
                self.haystacks[:0] = [haystack(a, f) for a, f in zip(fresh, flags, strict=True)]
            del self.attempts[HISTORY_LIMIT:], self.flying[HISTORY_LIMIT:]
            del self.haystacks[HISTORY_LIMIT:]
        self.apply_filter(keep)
        if self._table is not None:
            self._table.rows_changed(redraw=True)


