"""Text fields that never trap the keyboard: ``escape`` always leaves them, and a field may
let chosen characters through as keys while it is empty.

A field that takes every printable key would swallow ``q``, ``?`` or ``/`` unseen. So:

* ``escape`` in a field leaves it (binding ``stopline.field.leave``; in the batch screen's text
  area, :mod:`tui.widgets.area_field`, ``stopline.area.leave``). The field posts
  :class:`FieldLeft` and gives up focus; the screen moves focus to where single-key actions
  work (the results, the preset list…).
* :class:`TextField` with ``keys_when_empty`` lets those characters (e.g. ``/``, ``?``, ``:``)
  reach the screen's bindings while it is empty — no identifier or reason starts with them —
  and types them as usual once it holds text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input


class FieldLeft(Message):
    """``escape`` left a text field: the screen decides where focus goes next."""

    def __init__(self, field: Widget) -> None:
        super().__init__()
        self.field = field

    @property
    def control(self) -> Widget:
        return self.field


def leave_field(field: Widget) -> None:
    """Post :class:`FieldLeft` and give up focus (what ``escape`` does in every field)."""
    field.post_message(FieldLeft(field))
    if field.has_focus:
        field.screen.set_focus(None)


class TextField(Input):
    """A one-line field that ``escape`` leaves."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "leave",
            "Leave field",
            id="stopline.field.leave",
            tooltip="Leave the field: single keys act again",
        ),
    ]

    def __init__(self, *args: Any, keys_when_empty: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.keys_when_empty = frozenset(keys_when_empty)
        """Key names (``slash``, ``question_mark``…) that act as keys while the field is
        empty instead of being typed."""

    def _passes(self, key: str) -> bool:
        return not self.value and key in self.keys_when_empty

    def watch_value(self, old: str, new: str) -> None:
        """Empty or not decides which keys it lets through: the footer follows."""
        if getattr(self, "keys_when_empty", None) and bool(old) != bool(new) and self.is_mounted:
            self.screen.refresh_bindings()

    def check_consume_key(self, key: str, character: str | None) -> bool:
        if self._passes(key):
            return False
        return super().check_consume_key(key, character)

    async def _on_key(self, event: events.Key) -> None:
        if self._passes(event.key):
            # Not typed: the key bubbles on to the screen's and the app's bindings.
            event.prevent_default()

    def action_leave(self) -> None:
        leave_field(self)
