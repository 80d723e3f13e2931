"""A yes/no question before anything destructive is sent: ``y`` yes, ``n`` or ``escape`` no."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from tui.screens.modal import HelpfulModal
from tui.widgets.keys_footer import KeysFooter


class ConfirmScreen(HelpfulModal[bool]):
    HELP_TITLE = "confirmation"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="stopline.confirm.yes", tooltip="Yes: go ahead"),
        Binding(
            "n", "answer(False)", "No", id="stopline.confirm.no", tooltip="No: nothing is sent"
        ),
        Binding(
            "escape",
            "answer(False)",
            "Back",
            id="stopline.confirm.back",
            tooltip="No: nothing is sent; go back",
        ),
    ]

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: auto; max-width: 72; min-width: 40; height: auto; max-height: 100%;
        border: thick $warning; background: $surface; padding: 1 2;
        border-title-color: $text;
    }
    ConfirmScreen #question { width: auto; max-width: 66; }
    ConfirmScreen #detail { width: auto; max-width: 66; margin: 1 0 0 0; }
    ConfirmScreen #answers { width: auto; margin: 1 0 0 0; color: $text-muted; }
    """

    def __init__(
        self,
        question: Text,
        *,
        detail: Text | None = None,
        yes: str = "yes, send it",
        no: str = "no, go back",
        title: str = "Confirm",
    ) -> None:
        super().__init__()
        self.question = question
        self.detail = detail
        self.yes = yes
        self.no = no
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            yield Static(self.question, id="question")
            if self.detail is not None:
                yield Static(self.detail, id="detail")
            yield Static(Text(f"y  {self.yes}      n / esc  {self.no}"), id="answers")
        yield KeysFooter()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
