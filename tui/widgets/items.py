"""Item picker for providers that cancel items: ``space`` toggles, ``+``/``-`` set the quantity,
``a`` selects every cancellable item, ``n`` none. Lines that cannot be cancelled are listed
with the reason and cannot be picked."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from tui.widgets.text import t

if TYPE_CHECKING:
    from tui.core.domain import Line


WINDOW = 8
"""Items shown at once; the window follows the cursor."""


class ItemPicker(Widget, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "up,k", "move(-1)", "Up", show=False, id="stopline.items.up", tooltip="Previous item"
        ),
        Binding(
            "down,j", "move(1)", "Down", show=False, id="stopline.items.down", tooltip="Next item"
        ),
        Binding(
            "space", "toggle", "Toggle", id="stopline.items.toggle", tooltip="Pick or drop an item"
        ),
        Binding(
            "plus,equals_sign",
            "quantity(1)",
            "Qty +",
            id="stopline.items.more",
            tooltip="One more of this item",
        ),
        Binding("minus", "quantity(-1)", "Qty -", id="stopline.items.less", tooltip="One fewer"),
        Binding("a", "all", "All", id="stopline.items.all", tooltip="Pick every cancellable item"),
        Binding(
            "n", "none", "None", id="stopline.items.none", tooltip="Pick nothing (whole order)"
        ),
    ]

    DEFAULT_CSS = """
    ItemPicker { height: auto; max-height: 8; padding: 0 1; }
    ItemPicker:focus { background: $boost; }
    """

    cursor = reactive(0)

    class Changed(Message):
        """The selection changed."""

    def __init__(self, lines: tuple[Line, ...], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.items = list(lines)
        self.selected: dict[str, int | None] = {}
        """Item id → quantity picked (None: the item has no quantity; all of it)."""

    def render(self) -> Text:
        out = Text(no_wrap=True, overflow="ellipsis")
        start = max(0, min(self.cursor - WINDOW // 2, len(self.items) - WINDOW))
        for index in range(start, min(len(self.items), start + WINDOW)):
            line = self.items[index]
            if index > start:
                out.append("\n")
            here = index == self.cursor and self.has_focus
            pointer = "▸ " if index == self.cursor else "  "
            style = "reverse" if here else ""
            row = Text(pointer, style=style)
            if not line.cancellable:
                row.append(" -  ", style="dim")
                row.append(t(line.id, "dim", max_chars=40))
                if line.sku:
                    row.append("  ")
                    row.append(t(line.sku, "dim", max_chars=30))
                row.append("  not cancellable: ", style="dim")
                row.append(t(line.not_cancellable_reason or line.status, "dim", max_chars=80))
            else:
                picked = line.id in self.selected
                row.append("[x] " if picked else "[ ] ", style="bold" if picked else "")
                row.append(t(line.id, max_chars=40))
                if line.sku:
                    row.append("  ")
                    row.append(t(line.sku, max_chars=30))
                if line.quantity is not None:
                    if picked:
                        qty = self.selected.get(line.id) or 0
                        row.append(f"  cancel {qty} of {line.quantity}", style="bold")
                    else:
                        row.append(f"  {line.quantity} open", style="dim")
            out.append(row)
        return out

    def _line(self) -> Line | None:
        return self.items[self.cursor] if 0 <= self.cursor < len(self.items) else None

    def action_move(self, step: int) -> None:
        if self.items:
            self.cursor = max(0, min(len(self.items) - 1, self.cursor + step))
            self.refresh()

    def action_toggle(self) -> None:
        line = self._line()
        if line is None or not line.cancellable:
            self.app.bell()
            return
        if line.id in self.selected:
            del self.selected[line.id]
        else:
            self.selected[line.id] = line.quantity
        self._changed()

    def action_quantity(self, step: int) -> None:
        line = self._line()
        if line is None or not line.cancellable or line.quantity is None:
            self.app.bell()
            return
        current = self.selected.get(line.id) or 0
        new = max(0, min(line.quantity, current + step))
        if new == 0:
            self.selected.pop(line.id, None)
        else:
            self.selected[line.id] = new
        self._changed()

    def action_all(self) -> None:
        self.selected = {ln.id: ln.quantity for ln in self.items if ln.cancellable}
        self._changed()

    def action_none(self) -> None:
        self.selected = {}
        self._changed()

    def _changed(self) -> None:
        self.refresh()
        self.post_message(self.Changed())

    def watch_cursor(self) -> None:
        self.refresh()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
