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

from tui.widgets.keys_footer import KeysFooter

if TYPE_CHECKING:
    from textual.screen import Screen

# Bindings Textual adds on its own that a supervisor does not need listed.
_HIDDEN_ACTIONS = {
    "app.focus_next",
    "app.focus_previous",
    "focus_next",
    "focus_previous",
    "screen.copy_text",
    "help_quit",
}


def key_rows(screen: Screen[object]) -> list[tuple[str, str, str, bool]]:
    """(keys, description, binding id, enabled) for every binding active on ``screen``; the
    bindings of a group (the preset digits) share one row."""
    merged: dict[tuple[str, str], tuple[list[str], str, list[str], bool]] = {}
    app = screen.app
    for active in screen.active_bindings.values():
        binding = active.binding
        if binding.action in _HIDDEN_ACTIONS or binding.system:
            continue
        label = app.get_key_display(binding.with_key(binding.key))
        if binding.group is not None:
            description = binding.group.description
            slot = ("group", description)
        else:
            description = binding.tooltip or binding.description or binding.action
            slot = (binding.id or binding.action, description)
        ident = binding.id or ""
        if slot in merged:
            keys, _, idents, enabled = merged[slot]
            keys.append(label)
            if ident and ident not in idents:
                idents.append(ident)
            merged[slot] = (keys, description, idents, enabled or active.enabled)
        else:
            merged[slot] = ([label], description, [ident] if ident else [], active.enabled)
    rows = [
        (" ".join(keys), desc, _ids(idents), on) for keys, desc, idents, on in merged.values()
    ]
    return sorted(rows, key=lambda row: (not row[3], row[2] or "~", row[0]))


def _ids(idents: list[str]) -> str:
    """``stopline.reason.1 … .9`` for a run of numbered ids, else the ids joined."""
    if len(idents) > 2:
        stem = idents[0].rsplit(".", 1)[0]
        if all(i.rsplit(".", 1)[0] == stem for i in idents):
            return f"{idents[0]} … .{idents[-1].rsplit('.', 1)[1]}"
    return ", ".join(idents)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,question_mark,q,f1",
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
        yield KeysFooter()
