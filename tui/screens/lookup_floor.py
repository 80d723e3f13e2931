"""The lookup screen's view of the floor: what others are doing, as it happens.

The app watches the journal and tells every screen of each attempt written
(:class:`tui.messages.AttemptsWritten`); here they become the floor line (the cancels in flight
right now, anyone's) and, for the orders found, their latest attempt in words ("cancelled 2
min ago by ana", "ana is cancelling it now") in the Lines pane — and the cancel key is not
offered for an order another attempt holds. The words are the core's
(:mod:`tui.core.floor`); this module only keeps them current.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.screen import Screen

from tui import messages as msg
from tui.host import ConsoleHost, host
from tui.themes import tones
from tui.widgets.floor_line import FloorLine
from tui.widgets.lines import LinesPane

if TYPE_CHECKING:
    from tui.core.domain import Order
    from tui.core.floor import FloorNote
    from tui.core.journal import Attempt

log = logging.getLogger("stopline.console")

REFRESH_S = 5.0
"""How often the "N s ago" words are brought up to date."""


class LookupFloor(Screen[None]):
    """The floor half of :class:`~tui.screens.lookup.LookupScreen` (mixed into it)."""

    orders: dict[str, Order]
    highlighted: str | None
    generation: int

    def __init__(self) -> None:
        super().__init__()
        self.floor_latest: dict[str, Attempt] = {}
        """Order key → its latest attempt (sent, or being claimed), anyone's."""
        self.flying: dict[int, Attempt] = {}
        """The attempts in flight on the floor, by id."""

    @property
    def stopline(self) -> ConsoleHost:
        return host(self)

    @property
    def floor_line(self) -> FloorLine:
        return self.query_one(FloorLine)

    def start_floor(self) -> None:
        """Once the service is ready: who is in flight now, then keep the words current."""
        self.load_in_flight()
        self.set_interval(REFRESH_S, self.redraw_floor)

    @work(exclusive=True, group="floor-load", exit_on_error=False)
    async def load_in_flight(self) -> None:
        service = self.stopline.service
        if service is None:
            return
        try:
            open_now = await service.attempts(limit=200, open_only=True)
        except Exception:
            log.exception("reading the attempts in flight failed")
            return
        self.post_message(msg.AttemptsWritten(open_now))

    @work(exclusive=True, group="floor-notes", exit_on_error=False)
    async def load_floor_notes(self, generation: int, keys: list[tuple[str, str]]) -> None:
        """The latest attempt on each order a look-up found."""
        service = self.stopline.service
        if service is None or not keys:
            return
        try:
            latest = await service.latest_attempts(keys)
        except Exception:
            log.exception("reading the orders' attempts failed")
            return
        found = {f"{p}:{o}": a for (p, o), a in latest.items() if a is not None}
        self.post_message(msg.FloorNotes(generation, found))

    @on(msg.FloorNotes)
    def _floor_notes(self, message: msg.FloorNotes) -> None:
        if message.generation != self.generation:
            return
        for key, attempt in message.latest.items():
            known = self.floor_latest.get(key)
            if known is None or known.version <= attempt.version:
                self.floor_latest[key] = attempt
        self.redraw_floor()

    @on(msg.AttemptsWritten)
    def _attempts_written(self, message: msg.AttemptsWritten) -> None:
        service = self.stopline.service
        if service is None:
            return
        for attempt in message.attempts:
            if service.in_flight(attempt) or (
                attempt.open and attempt.state.value in ("claimed", "sent")
            ):
                self.flying[attempt.id] = attempt
            else:
                self.flying.pop(attempt.id, None)
            if attempt.state.value == "withdrawn":
                continue
            key = f"{attempt.provider}:{attempt.order_id}"
            known = self.floor_latest.get(key)
            if known is None or known.id < attempt.id or (
                known.id == attempt.id and known.version <= attempt.version
            ):
                self.floor_latest[key] = attempt
        self.redraw_floor()

    def floor_note(self, key: str | None) -> FloorNote | None:
        """The latest attempt on order ``key`` in words, or None."""
        from tui.core.floor import describe

        service = self.stopline.service
        attempt = self.floor_latest.get(key) if key else None
        if service is None or attempt is None:
            return None
        return describe(
            attempt,
            now=service.lifecycle.now(),
            in_flight=service.in_flight(attempt),
            mine=service.is_mine(attempt),
        )

    def redraw_floor(self) -> None:
        service = self.stopline.service
        if service is None or not self.is_mounted:
            return
        from tui.core.floor import in_flight_words
        from tui.core.providers import registry

        flying = [a for a in self.flying.values() if service.in_flight(a)]
        self.flying = {a.id: a for a in flying}
        self.floor_line.show_words(
            in_flight_words(flying, now=service.lifecycle.now(), labels=registry.labels())
        )
        note = self.floor_note(self.highlighted)
        lines = self.query(LinesPane)
        if not lines:
            return
        if note is None or self._shown_in_outcome(self.floor_latest.get(self.highlighted or "")):
            lines.first().set_floor(None)
            return
        tone = tones(self.app.current_theme)
        lines.first().set_floor(
            Text.assemble(Text("journal: ", style="bold"), Text(note.words, style=tone[note.tone]))
        )

    def _shown_in_outcome(self, attempt: Attempt | None) -> bool:
        """Whether the outcome panel below already tells of ``attempt`` (this console's own
        cancel, just made): the Lines pane does not say it twice."""
        from tui.widgets.breakdown import BreakdownPanel

        panels = self.query(BreakdownPanel)
        if attempt is None or not panels:
            return False
        shown = panels.first().outcome
        return shown is not None and shown.attempt_id == attempt.id
