"""The first screen: search, per-provider status, results, lines of the highlighted order,
and the live breakdown of the latest cancel.

All provider calls run in workers that post :mod:`tui.messages`; handlers update widgets.

One idea, kept whole: the lookup screen (its table and its cancels live beside it).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Input, Label

from tui import messages as msg
from tui.core.vocabulary import LookupState, NextStep
from tui.host import ConsoleHost, host
from tui.screens.lookup_cancel import LookupCancelling
from tui.screens.lookup_floor import LookupFloor
from tui.screens.lookup_table import (
    RESULT_COLUMNS,
    ResultsTable,
    order_key,
    result_cells,
)
from tui.widgets.breakdown import BreakdownPanel
from tui.widgets.floor_line import FloorLine
from tui.widgets.lines import LinesPane
from tui.widgets.status_strip import ProviderStrip
from tui.widgets.text import t
from tui.widgets.topbar import TopBar

if TYPE_CHECKING:
    from tui.core.domain import CancelRequest, Order
    from tui.core.lifecycle import Done, NotSent

log = logging.getLogger("stopline.console")

class LookupScreen(LookupFloor, LookupCancelling):
    """Search → results → lines, with the outcome panel below (or beside when wide)."""

    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [
        (0, "-narrow"),
        (110, "-wide"),
    ]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "slash",
            "focus_search",
            "Search",
            id="stopline.search",
            tooltip="Focus the search field",
        ),
        Binding(
            "c",
            "cancel",
            "Cancel order",
            id="stopline.cancel",
            tooltip="Open the cancel dialog for the highlighted order",
        ),
        Binding(
            "r",
            "retry",
            "Retry",
            id="stopline.retry",
            tooltip="Retry what failed: the look-up, a re-check, or a cancel that provably failed",
        ),
        Binding(
            "h",
            "history",
            "History",
            id="stopline.history",
            tooltip="The journal of cancel attempts, newest first",
        ),
        Binding(
            "b",
            "batch",
            "Batch",
            id="stopline.batch",
            tooltip="Cancel many orders at once: paste or load identifiers",
        ),
        Binding(
            "escape",
            "back",
            "Back",
            show=False,
            id="stopline.back",
            tooltip="Back out: results → search field → clear it",
        ),
    ]

    DEFAULT_CSS = """
    LookupScreen { layout: vertical; }
    LookupScreen #search-row { height: 1; margin: 1 0 0 0; }
    LookupScreen #search-row > Label { width: auto; padding: 0 1; color: $text-muted; }
    LookupScreen #search { width: 1fr; }
    LookupScreen ProviderStrip { margin: 1 0 0 0; }
    LookupScreen ResultsTable {
        height: auto; max-height: 7; margin: 1 0 0 0; scrollbar-size-horizontal: 0;
    }
    LookupScreen #bottom { height: 1fr; }
    LookupScreen.-narrow #bottom { layout: vertical; }
    LookupScreen.-wide #bottom { layout: horizontal; }
    LookupScreen.-wide LinesPane { width: 1fr; height: 1fr; }
    LookupScreen.-wide BreakdownPanel { width: 1fr; height: 1fr; max-height: 100%; }
    LookupScreen.-wide BreakdownPanel.-idle { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.generation = 0
        self.identifier: str = ""
        self.pending_identifier: str | None = None
        self.orders: dict[str, Order] = {}
        self.highlighted: str | None = None
        self.lookup_error: str | None = None
        self.last_failure: Literal["lookup"] | None = None
        self.cancel_busy = False
        self.last_request: CancelRequest | None = None
        self.last_final: Done | NotSent | None = None
        self.cancel_error: str | None = None
        self._key_state: tuple[bool | None, ...] = ()
        # Empty until a look-up: mounted just after the first frame (see ``on_mount``).
        self._results = ResultsTable(id="results", cursor_type="row", zebra_stripes=False)
        self._results.add_columns(*RESULT_COLUMNS)
        self._lines = LinesPane(id="lines")
        self._breakdown = BreakdownPanel(id="breakdown")
        self.panes_mounted = False

    @property
    def stopline(self) -> ConsoleHost:
        return host(self)

    # -- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield TopBar(id="topbar")
        with Horizontal(id="search-row"):
            yield Label("Find")
            yield Input(
                placeholder="market order id, order number, tray, PO or order id — enter",
                id="search",
                compact=True,
            )
        yield ProviderStrip(show_timings=self.stopline.show_timings, id="strip")
        yield FloorLine(id="floor")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#search", Input).focus()
        # The footer has just been composed from these answers: recomposing it now would
        # only cost the first frame time.
        self._key_state = self._key_answers()
        self.refresh_chrome()
        # The first frame needs the search field, not the (still empty) results and panes:
        # mounting them costs about as much as the rest of the screen, so they follow it.
        self.call_after_refresh(self._mount_panes)

    async def _mount_panes(self) -> None:
        bottom = Vertical(self._lines, self._breakdown, id="bottom")
        await self.mount(self._results, bottom, after="#strip")
        self.panes_mounted = True
        if self.pending_identifier:
            self.results.focus()
        self._start_pending()

    @property
    def search(self) -> Input:
        return self.query_one("#search", Input)

    @property
    def results(self) -> ResultsTable:
        return self._results

    @property
    def strip(self) -> ProviderStrip:
        return self.query_one("#strip", ProviderStrip)

    @property
    def lines(self) -> LinesPane:
        return self._lines

    @property
    def breakdown(self) -> BreakdownPanel:
        return self._breakdown

    def refresh_chrome(self) -> None:
        """Header and strip from the app's state (after connecting, or a failure)."""
        app = self.stopline
        bar = self.query_one("#topbar", TopBar)
        bar.set_state(state=app.connection_state, demo=app.demo, read_only=app.read_only)
        if app.read_only:
            self.breakdown.idle_hint = "Read-only: look-ups only; cancelling is switched off."
            self.breakdown.redraw()
        if app.service is not None:
            self.strip.set_providers(app.provider_infos())
        elif app.problems:
            note = Text("Stopline cannot start:\n", style="bold red")
            for problem in app.problems:
                note.append("  • ")
                note.append(t(problem, max_chars=500))
                note.append("\n")
            note.append("Fix the configuration (stopline config check) and start again; q quits.")
            self.strip.set_note(note)
        self._refresh_keys()

    @on(msg.ConsoleChanged)
    def _console_changed(self, message: msg.ConsoleChanged) -> None:
        if not self.is_mounted:
            return
        self.strip.show_timings = self.stopline.show_timings
        self.strip.redraw()
        self.refresh_chrome()
        if message.service_ready:
            self.start_floor()
            self._start_pending()

    def _start_pending(self) -> None:
        """Run the look-up asked for before the service or the panes were ready."""
        if self.pending_identifier and self.panes_mounted and self.stopline.service is not None:
            identifier, self.pending_identifier = self.pending_identifier, None
            self.start_lookup(identifier)

    # -- look-up -----------------------------------------------------------------------------

    @on(Input.Submitted, "#search")
    def _submitted(self, event: Input.Submitted) -> None:
        identifier = event.value.strip()
        if not identifier:
            self.strip.set_note(Text("Type an identifier first.", style="dim"))
            return
        self.start_lookup(identifier)
        if self.panes_mounted:
            self.results.focus()

    def start_lookup(self, identifier: str) -> None:
        service = self.stopline.service
        self.identifier = identifier
        if service is None or not self.panes_mounted:
            if not self.stopline.problems:
                self.pending_identifier = identifier
                if service is None:
                    self.strip.set_note(Text("Still connecting… the look-up starts when ready."))
            return
        self.generation += 1
        self.lookup_error = None
        if self.last_failure == "lookup":
            self.last_failure = None
        self.orders.clear()
        self.highlighted = None
        self._rebuild_results()
        self.run_lookup(identifier, self.generation)

    @work(exclusive=True, group="lookup", exit_on_error=False)
    async def run_lookup(self, identifier: str, generation: int) -> None:
        from tui.core.identifiers import InvalidInput

        service = self.stopline.service
        assert service is not None
        self.post_message(msg.LookupStarted(generation, identifier, list(service.providers)))
        try:
            async for result in service.lookup_stream(identifier):
                self.post_message(msg.LookupAnswered(generation, result))
        except InvalidInput as exc:
            self.post_message(msg.LookupFailed(generation, str(exc)))
            return
        except Exception as exc:
            log.exception("look-up of %r failed", identifier)
            self.post_message(msg.LookupFailed(generation, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(msg.LookupFinished(generation))

    @on(msg.LookupStarted)
    def _lookup_started(self, message: msg.LookupStarted) -> None:
        if message.generation == self.generation:
            self.strip.start(message.providers)

    @on(msg.LookupAnswered)
    def _lookup_answered(self, message: msg.LookupAnswered) -> None:
        if message.generation != self.generation:
            return
        result = message.result
        self.strip.answer(result)
        if result.state is LookupState.ERROR:
            self.last_failure = "lookup"
        for order in result.orders:
            self.orders[order_key(order)] = order
        if result.orders:
            self._rebuild_results()
        self._refresh_keys()

    @on(msg.LookupFailed)
    def _lookup_failed(self, message: msg.LookupFailed) -> None:
        if message.generation != self.generation:
            return
        self.lookup_error = message.error
        self.last_failure = "lookup"
        self.strip.stop_waiting()
        self.strip.set_note(
            Text.assemble(Text("look-up failed: ", style="bold red"), t(message.error))
        )
        self._refresh_keys()

    @on(msg.LookupFinished)
    def _lookup_finished(self, message: msg.LookupFinished) -> None:
        if message.generation != self.generation:
            return
        self.strip.stop_waiting()
        if not self.orders:
            self.strip.set_note(
                Text.assemble("No provider has an order ", t(self.identifier, "bold"), ".")
            )
        else:
            keys = [(order.provider, order.order_id) for order in self.orders.values()]
            self.load_floor_notes(message.generation, keys)
        self._refresh_keys()

    def _sorted_orders(self) -> list[Order]:
        from tui.core.providers import registry

        rank = {key: i for i, key in enumerate(registry.provider_keys())}
        return sorted(self.orders.values(), key=lambda o: (rank.get(o.provider, 99), o.order_id))

    def _rebuild_results(self) -> None:
        table = self.results
        keep = self.highlighted
        orders = self._sorted_orders()
        rows = [result_cells(order) for order in orders]
        # Widths set here, not left to the table: it sizes auto-width columns when idle, and
        # a frame drawn before that keeps the header at the old widths (Textual caches it).
        table.clear(columns=True)
        for index, name in enumerate(RESULT_COLUMNS):
            width = max([len(name), *(cells[index].cell_len for cells in rows)])
            table.add_column(name, width=width)
        for order, cells in zip(orders, rows, strict=True):
            table.add_row(*cells, key=order_key(order))
        keys = [order_key(o) for o in orders]
        row = keys.index(keep) if keep in keys else 0
        if orders:
            table.move_cursor(row=row)
            self._highlight(keys[row])
        else:
            self._highlight(None)

    @on(DataTable.RowHighlighted, "#results")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value if event.row_key is not None else None
        self._highlight(key)

    def _highlight(self, key: str | None) -> None:
        self.highlighted = key if key in self.orders else None
        self.lines.show(self.orders.get(self.highlighted) if self.highlighted else None)
        self.redraw_floor()
        self._refresh_keys()

    def highlighted_order(self) -> Order | None:
        return self.orders.get(self.highlighted) if self.highlighted else None

    # -- actions -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            if self.stopline.read_only or isinstance(self.focused, Input):
                return False
            order = self.highlighted_order()
            if order is not None and self.stopline.provider_read_only(order.provider):
                return False
            return True if self.cancel_blocker() is None else None
        if action == "retry":
            if isinstance(self.focused, Input):
                return False
            return bool(self.last_failure) or self.cancel_step() is not NextStep.NONE
        if action in {"history", "batch"}:
            if isinstance(self.focused, Input):
                return False
            if action == "batch" and self.stopline.read_only:
                return False
            return True if self.stopline.service is not None else None
        return True

    def _key_answers(self) -> tuple[bool | None, ...]:
        return tuple(
            self.check_action(action, ()) for action in ("cancel", "retry", "history", "batch")
        )

    def _refresh_keys(self) -> None:
        """Refresh the footer only when what ``check_action`` answers has changed: a footer
        refresh recomposes it, which costs more than everything else a look-up redraws."""
        state = self._key_answers()
        if state != self._key_state:
            self._key_state = state
            self.refresh_bindings()

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        """This screen's commands in the palette (the console adds its own after them)."""
        commands: list[tuple[str, str, Any]] = [
            ("Search", "Focus the search field  (/)", self.action_focus_search)
        ]
        if self.identifier:
            commands.append(
                (
                    "Look up again",
                    f"Repeat the look-up of {self.identifier!r}",
                    self.action_refresh,
                )
            )
        if not self.stopline.read_only and self.cancel_blocker() is None:
            commands.append(
                ("Cancel highlighted order", "Open the cancel dialog  (c)", self.action_cancel)
            )
        if self.check_action("retry", ()):
            commands.append(
                (
                    "Retry or re-check",
                    "Retry what failed, or re-check an unknown  (r)",
                    self.action_retry,
                )
            )
        return commands

    def cancel_blocker(self) -> str | None:
        """Why the highlighted order cannot be cancelled from here, or None."""
        app = self.stopline
        if app.service is None:
            return "not connected yet"
        order = self.highlighted_order()
        if order is None:
            return "highlight an order first"
        if app.read_only or app.provider_read_only(order.provider):
            return "read-only: cancelling is switched off"
        if self.cancel_busy:
            return "a cancel is still in flight"
        note = self.floor_note(self.highlighted)
        if note is not None and note.blocks_cancel:
            return note.words
        return None

    def action_focus_search(self) -> None:
        self.search.focus()
        self.search.select_all()

    def action_back(self) -> None:
        if isinstance(self.focused, Input):
            if self.search.value:
                self.search.value = ""
            elif self.orders:
                self.results.focus()
            return
        self.search.focus()

    def action_history(self) -> None:
        self.stopline.open_history()

    def action_batch(self) -> None:
        self.stopline.open_batch()

    def action_refresh(self) -> None:
        if self.identifier:
            self.start_lookup(self.identifier)

