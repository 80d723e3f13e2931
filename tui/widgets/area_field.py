"""The multi-line text field (the batch screen's paste area): ``escape`` leaves it, as it
leaves every field (:mod:`tui.widgets.fields`). Its own module because Textual's TextArea
is imported only when the batch screen is, not with the console's first frame."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import TextArea

from tui.widgets.fields import leave_field


class TextAreaField(TextArea):
    """A multi-line field that ``escape`` leaves (``tab`` moves focus, as everywhere)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "leave",
            "Leave field",
            id="stopline.area.leave",
            tooltip="Leave the text: single keys act again",
        ),
    ]

    def action_leave(self) -> None:
        leave_field(self)
