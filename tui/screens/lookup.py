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
from textual.widgets import DataTable, Input, Label

from tui import messages as msg
from tui.core.vocabulary import LookupState, NextStep
from tui.host import ConsoleHost, host
from tui.screens.lookup_cancel import LookupCancelling
from tui.screens.lookup_floor import LookupFloor
from tui.screens.lookup_table import (
    RESULT_COLUMNS,
    ResultsTable,
    fit_columns,
    order_key,
    result_cells,
)
from tui.widgets.breakdown import BreakdownPanel
from tui.widgets.fields import FieldLeft, TextField
from tui.widgets.floor_line import FloorLine
from tui.widgets.keys_footer import KeysFooter
from tui.widgets.lines import LinesPane
from tui.widgets.status_strip import ProviderStrip
from tui.widgets.text import t
from tui.widgets.topbar import TopBar

if TYPE_CHECKING:
    from tui.core.domain import CancelRequest, Order
    from tui.core.lifecycle import Done, NotSent

log = logging.getLogger("stopline.console")

class LookupScreen(LookupFloor, LookupCancelling):
    """Search → results → lines, with the outcome panel below."""

    HELP_TITLE = "lookup"
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
            "Cancel",
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
    ]

    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [
        (0, "-short"),
        (32, "-tall"),
    ]

    # Stacked, never side by side: Lines keeps the whole width (its reasons in full on a wide
    # terminal) and the outcome takes what it needs, up to about half. At 80x24 both keep at
    # least five lines inside their borders.
    DEFAULT_CSS = """
    LookupScreen { layout: vertical; }
    LookupScreen #search-row { height: 1; }
    LookupScreen.-tall #search-row { margin: 1 0 0 0; }
    LookupScreen #search-row > Label { width: auto; padding: 0 1; color: $text-muted; }
    LookupScreen #search { width: 1fr; }
    LookupScreen.-tall ProviderStrip { margin: 1 0 0 0; }
    LookupScreen ResultsTable {
        height: auto; max-height: 4; scrollbar-size-horizontal: 0;
    }
    LookupScreen.-tall ResultsTable { max-height: 8; margin: 1 0 0 0; }
    LookupScreen #bottom { height: 1fr; layout: vertical; }
    LookupScreen LinesPane { height: 1fr; min-height: 7; }
    LookupScreen.-short LinesPane > #lines-note { max-height: 2; }
    LookupScreen BreakdownPanel { height: auto; max-height: 55%; min-height: 7; }
    LookupScreen BreakdownPanel.-idle { min-height: 3; }
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
            yield TextField(
                placeholder="order id, market order id, order number, tray or PO — enter",
                id="search",
                compact=True,
                # No identifier starts with these: in an empty field they act as keys.
                keys_when_empty=("slash", "question_mark", "colon"),
            )
        yield ProviderStrip(show_timings=self.stopline.show_timings, id="strip")
        yield FloorLine(id="floor")
        yield KeysFooter()

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
    def search(self) -> TextField:
        return self.query_one("#search", TextField)

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
        self.breakdown.idle_hint = self._idle_hint(self.highlighted_order())
        if self.breakdown.phase == "idle":
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
            # c acts as soon as the order is there; nothing found brings focus back here.
            self.results.focus()

    @on(FieldLeft, "#search")
    def _search_left(self) -> None:
        if self.panes_mounted:
            self.results.focus()

    def _back_to_search(self) -> None:
        """Nothing to act on: the next action is another search, so focus goes there (with
        the identifier selected, so typing replaces it) — unless the user has moved on."""
        if self.focused is None or self.focused is self.results:
            self.action_focus_search()

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
        if not self.orders:
            self._back_to_search()
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
            if self.last_failure != "lookup":  # after an error the next key may be r
                self._back_to_search()
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
        # They fit the screen: identifiers whole, the rest narrowed or wrapped.
        widths, height = fit_columns(rows, self.size.width)
        table.clear(columns=True)
        for name, width in zip(RESULT_COLUMNS, widths, strict=True):
            table.add_column(name, width=width)
        for order, cells in zip(orders, rows, strict=True):
            table.add_row(*cells, key=order_key(order), height=height)
        keys = [order_key(o) for o in orders]
        row = keys.index(keep) if keep in keys else 0
        if orders:
            table.move_cursor(row=row)
            self._highlight(keys[row])
        else:
            self._highlight(None)

    def on_resize(self) -> None:
        if self.orders:
            self._rebuild_results()

    @on(DataTable.RowHighlighted, "#results")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value if event.row_key is not None else None
        self._highlight(key)

    def _highlight(self, key: str | None) -> None:
        self.highlighted = key if key in self.orders else None
        order = self.orders.get(self.highlighted) if self.highlighted else None
        self.lines.show(order)
        self.redraw_floor()
        self.breakdown.idle_hint = self._idle_hint(order)
        if self.breakdown.phase == "idle":
            self.breakdown.redraw()
        self._refresh_keys()

    def _idle_hint(self, order: Order | None) -> Text | str:
        """What the outcome panel says before a cancel: how to cancel, or why c is absent."""
        app = self.stopline
        if app.read_only:
            return "Read-only: look-ups only; cancelling is switched off."
        if order is None:
            return "No cancel yet. Look an order up, then press c to cancel it."
        if app.provider_read_only(order.provider):
            return f"{order.label} is read-only here: cancelling it is switched off."
        if not order.can_cancel:
            return Text.assemble(
                "Nothing to cancel: ",
                t(order.why_not_cancellable, max_chars=200),
                ".",
            )
        return "No cancel yet: press c to cancel the highlighted order."

    def highlighted_order(self) -> Order | None:
        return self.orders.get(self.highlighted) if self.highlighted else None

    # -- actions -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "focus_search":
            return self.focused is not self.search
        if action == "cancel":
            if self.stopline.read_only or isinstance(self.focused, Input):
                return False
            order = self.highlighted_order()
            if order is not None and (
                self.stopline.provider_read_only(order.provider) or not order.can_cancel
            ):
                return False  # never offered: it cannot succeed
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
            self.check_action(action, ())
            for action in ("focus_search", "cancel", "retry", "history", "batch")
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
        if self.check_action("cancel", ()) and self.cancel_blocker() is None:
            commands.append(
                (
                    "Cancel order",
                    "Open the cancel dialog for the order under the cursor  (c)",
                    self.action_cancel,
                )
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
        if not order.can_cancel:
            return f"nothing to cancel: {order.why_not_cancellable}"
        if self.cancel_busy:
            return "a cancel is still in flight"
        note = self.floor_note(self.highlighted)
        if note is not None and note.blocks_cancel:
            return note.words
        return None

    def action_focus_search(self) -> None:
        self.search.focus()
        self.search.select_all()

    def action_history(self) -> None:
        self.stopline.open_history()

    def action_batch(self) -> None:
        self.stopline.open_batch()

    def action_refresh(self) -> None:
        if self.identifier:
            self.start_lookup(self.identifier)

