"""One line under the panes: the cancels in flight on the floor right now, anyone's."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.widgets.text import t


class FloorLine(Static):
    DEFAULT_CSS = """
    FloorLine { height: 1; padding: 0 1; color: $text-muted; display: none; }
    FloorLine.-busy { color: $text; }
    """

    def show_words(self, words: str) -> None:
        """``words`` (cleaned: it names operators and orders); with nothing in flight the
        line takes no room (at 80x24 the panes need every row)."""
        self.set_class(bool(words), "-busy")
        self.display = bool(words)
        if words:
            self.update(Text.assemble(Text("floor: ", style="bold"), t(words, max_chars=300)))
        else:
            self.update("")
