"""The footer of every screen: Textual's :class:`~textual.widgets.Footer`, rebuilt once for
any number of binding changes that come before it is rebuilt.

Textual's footer recomposes — every key widget removed, made, styled and mounted again —
after the refresh that follows *each* binding change, and one keypress often makes several:
focus moves, a screen re-checks its own keys, a row is highlighted. Opening the history
screen on a full journal rebuilt the footer five times, each rebuild a layout and a frame of
its own, before the screen was still (bench/history.py). Here a change that finds a rebuild
already waiting joins it; the one rebuild reads the bindings as they are when it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Footer

if TYPE_CHECKING:
    from textual.screen import Screen


class KeysFooter(Footer):
    """:class:`~textual.widgets.Footer`, its rebuilds after binding changes coalesced."""

    _rebuild_waiting = False

    def bindings_changed(self, screen: Screen) -> None:
        # Textual 8's own handling (``Footer.bindings_changed``), but one rebuild at a time:
        # the footer shows nothing until the first change marks the bindings ready, and is
        # rebuilt only while the app has focus and the footer is on the screen that changed.
        self._bindings_ready = True
        if not screen.app.app_focus or self._rebuild_waiting:
            return
        if self.is_attached and screen is self.screen:
            self._rebuild_waiting = True
            self.call_after_refresh(self._rebuild)

    async def _rebuild(self) -> None:
        self._rebuild_waiting = False
        await self.recompose()
