"""The footer of every screen: Textual's :class:`~textual.widgets.Footer`, rebuilt once for
any number of binding changes that come before it is rebuilt.

Textual's footer recomposes — every key widget removed, made, styled and mounted again —
after the refresh that follows *each* binding change, and one keypress often makes several:
focus moves, a screen re-checks its own keys, a row is highlighted. Opening the history
screen on a full journal rebuilt the footer five times, each rebuild a layout and a frame of
its own, before the screen was still (bench/history.py). Here the first rebuild due reads
the bindings as they are by then, and the rebuilds due for changes it has read do nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Footer

if TYPE_CHECKING:
    from textual.screen import Screen


class KeysFooter(Footer):
    """:class:`~textual.widgets.Footer`, its rebuilds after binding changes coalesced."""

    _changes = 0
    """Binding changes heard (on this footer's screen, with the app focused)."""
    _changes_read = 0
    """The changes the latest rebuild has read."""

    def bindings_changed(self, screen: Screen) -> None:
        # Textual 8's own handling (``Footer.bindings_changed``): the footer shows nothing
        # until the first change marks the bindings ready, and is rebuilt after the next
        # refresh only while the app has focus and the footer is on the screen that
        # changed. Each change still asks for its own rebuild — none waits on another's,
        # so a request lost with a screen leaves nothing stuck — but a rebuild that finds
        # its change already read by an earlier one does nothing.
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self._changes += 1
            self.call_after_refresh(self._rebuild, self._changes)

    async def _rebuild(self, change: int) -> None:
        if change <= self._changes_read:
            return  # an earlier rebuild read the bindings after this change
        self._changes_read = self._changes
        await self.recompose()
