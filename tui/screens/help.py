"""``?``: the keys valid right now, generated from the bindings active where it was pressed."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

if TYPE_CHECKING:
    from textual.screen import Screen

# Bindings Textual adds on its own that a supervisor does not need listed.
_HIDDEN_ACTIONS = {"app.focus_next", "app.focus_previous", "focus_next", "focus_previous"}


def key_rows(screen: Screen[object]) -> list[tuple[str, str, str, bool]]:
    """(keys, description, binding id, enabled) for every binding active on ``screen``."""
    merged: dict[tuple[str, str], tuple[list[str], str, str, bool]] = {}
    app = screen.app
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if binding.action in _HIDDEN_ACTIONS:
            continue
        description = binding.description or binding.tooltip or binding.action
        label = binding.key_display or app.get_key_display(binding)
        slot = (binding.id or binding.action, description)
        if slot in merged:
            merged[slot][0].append(label)
        else:
            merged[slot] = ([label], description, binding.id or "", active.enabled)
        del key
    rows = [(" ".join(keys), desc, ident, on) for keys, desc, ident, on in merged.values()]
    return sorted(rows, key=lambda row: (not row[3], row[2] or "~", row[0]))


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,question_mark,q",
            "dismiss",
            "Close",
            id="stopline.help.close",
            tooltip="Close the key list",
        ),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 78; max-width: 100%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, rows: list[tuple[str, str, str, bool]], where: str) -> None:
        super().__init__()
        self.rows = rows
        self.where = where

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        table.add_column(style="dim", no_wrap=True)
        for keys, description, ident, enabled in self.rows:
            style = "" if enabled else "dim"
            table.add_row(Text(keys, style=style), Text(description, style=style), Text(ident))
        with VerticalScroll() as scroll:
            scroll.border_title = Text(f"Keys valid now — {self.where}")
            scroll.border_subtitle = Text("esc closes · remap by id in config [keymap]")
            yield Static(table)
