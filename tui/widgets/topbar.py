"""The one-line header: product name, DEMO and READ-ONLY markers, connection state."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from tui.themes import tones


class TopBar(Static):
    DEFAULT_CSS = """
    TopBar { dock: top; height: 1; background: $panel; color: $foreground; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.demo = False
        self.read_only = False
        self.state = "connecting…"

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.redraw())
        self.redraw()

    def set_state(
        self, *, state: str | None = None, demo: bool | None = None, read_only: bool | None = None
    ) -> None:
        if state is not None:
            self.state = state
        if demo is not None:
            self.demo = demo
        if read_only is not None:
            self.read_only = read_only
        self.redraw()

    def redraw(self) -> None:
        self.update(self.render_bar())

    def render_bar(self) -> Table:
        tone = tones(self.app.current_theme if self.is_attached else None)
        left = Text(" Stopline ", style="bold")
        if self.demo:
            left.append(" DEMO DATA — sandbox ", style=f"bold reverse {tone['warn']}")
            left.append(" ")
        if self.read_only:
            left.append(" READ-ONLY ", style=f"bold reverse {tone['info']}")
        right = Text(self.state + " ", style=tone["muted"])
        grid = Table.grid(expand=True)
        grid.add_column(no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", no_wrap=True)
        grid.add_row(left, right)
        return grid
