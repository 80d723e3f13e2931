"""A cancel reason: free text, or a preset stepped through with ``up``/``down``.

Shared by the cancel dialog and the batch screen. The presets are a provider's reason codes
when it has them (Rx-Universe), else generic reasons; see
:meth:`tui.host.CancelContext.presets`. The owner binds the keys (its
binding ids stay remappable) and calls :meth:`ReasonField.step`.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static

from tui.widgets.text import t

Preset = tuple[str, "str | None"]
"""(reason text, reason code or None)."""


class ReasonField(Vertical):
    """``Input#reason`` above ``Static#presets`` (what ``up``/``down`` would pick)."""

    DEFAULT_CSS = """
    ReasonField { height: auto; }
    ReasonField > #presets { color: $text-muted; }
    """

    def __init__(
        self,
        presets: Sequence[Preset],
        *,
        placeholder: str = "why is this order cancelled?",
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._presets: list[Preset] = list(presets)
        self.preset_index = -1
        self._placeholder = placeholder

    def compose(self) -> ComposeResult:
        yield Input(placeholder=self._placeholder, id="reason", compact=True)
        yield Static(self.presets_text(), id="presets")

    @property
    def input(self) -> Input:
        return self.query_one("#reason", Input)

    @property
    def value(self) -> str:
        return self.input.value.strip()

    @property
    def presets(self) -> list[Preset]:
        return list(self._presets)

    def set_presets(self, presets: Sequence[Preset]) -> None:
        """Offer other presets (another provider chosen); the typed text stays."""
        if list(presets) == self._presets:
            return
        self._presets = list(presets)
        self.preset_index = -1
        if self.is_mounted:
            self.query_one("#presets", Static).update(self.presets_text())

    def step(self, by: int) -> None:
        """Put the next (``by`` 1) or previous (-1) preset into the field."""
        if not self._presets:
            return
        self.preset_index = (self.preset_index + by) % len(self._presets)
        text, _code = self._presets[self.preset_index]
        field = self.input
        field.value = text
        field.cursor_position = len(text)
        self.query_one("#presets", Static).update(self.presets_text())

    def presets_text(self) -> Text:
        if not self._presets:
            return Text("")
        if self.preset_index < 0:
            names = ", ".join(text for text, _ in self._presets[:3])
            shown = Text("presets: ", style="dim", no_wrap=True, overflow="ellipsis")
            shown.append(t(names))
            shown.append(", …")
            return shown
        text, code = self._presets[self.preset_index]
        shown = Text(f"preset {self.preset_index + 1}/{len(self._presets)}: ")
        if code is not None:
            shown.append(f"{code} ", style="bold")
        shown.append(t(text))
        return shown
