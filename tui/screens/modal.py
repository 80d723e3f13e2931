"""What every dialog has: its own keys in a footer and its own help (``?`` and ``f1``).

A modal screen hides the console's keys beneath it (Textual stops the key chain at the
modal), so each dialog brings the help keys itself, and a footer listing its own keys.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual.binding import Binding, BindingsMap, BindingType
from textual.screen import ModalScreen

ResultT = TypeVar("ResultT")


class HelpfulModal(ModalScreen[ResultT]):
    HELP_TITLE: ClassVar[str] = ""
    """How the help screen names this dialog."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "question_mark",
            "app.help",
            "Keys",
            id="stopline.modal.help",
            tooltip="Show this dialog's keys",
        ),
        Binding(
            "f1",
            "app.help",
            "Keys",
            id="stopline.modal.help_f1",
            tooltip="Show this dialog's keys (also inside text fields)",
        ),
    ]

    @classmethod
    def _merge_bindings(cls) -> BindingsMap:
        """The dialog's own keys first, help last (in the footer as in the help)."""
        merged = super()._merge_bindings()
        keys = merged.key_to_bindings
        for key in ("question_mark", "f1"):
            if key in keys:
                keys[key] = keys.pop(key)
        return merged
