"""A yes/no question before anything destructive is sent: ``y`` yes, ``n`` or ``escape`` no."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes, send", id="stopline.confirm.yes", tooltip="Send it"),
        Binding(
            "n", "answer(False)", "No", id="stopline.confirm.no", tooltip="Do not send; go back"
        ),
        Binding(
            "escape",
            "answer(False)",
            "Back",
            id="stopline.confirm.back",
            tooltip="Do not send; go back",
        ),
    ]

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: auto; max-width: 72; min-width: 40; height: auto;
        border: thick $warning; background: $surface; padding: 1 2;
    }
    ConfirmScreen #question { width: auto; max-width: 66; }
    ConfirmScreen #answers { margin: 1 0 0 0; color: $text-muted; }
    """

    def __init__(self, question: Text, *, detail: Text | None = None) -> None:
        super().__init__()
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="question")
            if self.detail is not None:
                yield Static(self.detail, id="detail")
            yield Static(Text("y  yes, send it      n / esc  no, go back"), id="answers")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
