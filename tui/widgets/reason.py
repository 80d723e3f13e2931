"""A cancel reason: a numbered preset picked by its digit, or free text that completes a preset
as it is typed.

Shared by the cancel dialog and the batch screen. The presets are a provider's reason codes
when it has them (Rx-Universe), else generic reasons; see
:meth:`tui.host.CancelContext.presets`.

Keys: on the preset list, or in the text field while it is empty, ``1`` to ``9`` pick a
preset (bindings ``stopline.reason.1`` … ``.9``); on the list any other letter starts free
text with it (type-ahead);
in the text field a few letters complete the first preset they begin (``enter`` or ``→``
takes it), and ``escape`` leaves the field. ``up``/``down`` step through the presets; the
owner binds them (its binding ids stay remappable) and calls :meth:`ReasonField.step`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Input

from tui.widgets.fields import FieldLeft, TextField
from tui.widgets.text import t

Preset = tuple[str, "str | None"]
"""(reason text, reason code or None)."""

DIGITS = 9
PRESET_GROUP = Binding.Group("Preset reason")


def _digit_bindings() -> list[BindingType]:
    bindings: list[BindingType] = []
    for n in range(1, DIGITS + 1):
        bindings.append(
            Binding(
                str(n),
                f"pick({n})",
                "Preset" if n == 1 else f"Preset {n}",
                show=n == 1,
                key_display="1…9" if n == 1 else None,
                id=f"stopline.reason.{n}",
                tooltip=f"Take preset reason {n}",
                group=PRESET_GROUP,
            )
        )
    return bindings


class PresetList(Widget, can_focus=True):
    """The presets, numbered, packed into as many lines as the width needs; the chosen one
    in reverse. Focusable: digits pick, letters start free text (:meth:`ReasonField.type_ahead`)."""

    DEFAULT_CSS = """
    PresetList { height: auto; padding: 0 1; }
    PresetList:focus { background: $boost; }
    PresetList:nocolor:focus { text-style: bold; }
    """

    def __init__(self, presets: Sequence[Preset], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.presets: list[Preset] = list(presets)
        self.chosen = -1

    def chips(self) -> list[Text]:
        chips = []
        for index, (text, code) in enumerate(self.presets):
            number = str(index + 1) if index < DIGITS else "·"
            chip = Text(f"{number} ", style="bold")
            if code is not None and code != text:
                chip.append(f"{code} ", style="bold")
            chip.append(t(text, max_chars=60))
            if index == self.chosen:
                chip.stylize("reverse")
            chips.append(chip)
        return chips

    def _rows(self, width: int) -> list[Text]:
        rows: list[Text] = []
        line = Text()
        for chip in self.chips():
            if line and line.cell_len + 3 + chip.cell_len > width:
                rows.append(line)
                line = Text()
            if line:
                line.append("   ")
            line.append_text(chip)
        if line or not rows:
            rows.append(line)
        return rows

    def render(self) -> Text:
        rows = self._rows(max(1, self.content_region.width or self.size.width))
        return Text("\n").join(rows)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._rows(max(1, width)))

    def choose(self, index: int) -> None:
        self.chosen = index
        self.refresh(layout=True)

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable or event.character is None:
            return
        if event.key in self.screen.active_bindings:
            return  # a key of its own (a digit, y, …): the bindings take it
        event.stop()
        event.prevent_default()
        if event.character.isdigit():  # a number past the last preset
            self.app.bell()
            return
        owner = self.parent
        if isinstance(owner, ReasonField):
            owner.type_ahead(event.character)


class ReasonField(Vertical):
    """``TextField#reason`` above ``PresetList#presets``."""

    BINDINGS: ClassVar[list[BindingType]] = _digit_bindings()

    DEFAULT_CSS = """
    ReasonField { height: auto; }
    ReasonField > #reason { margin: 0 1; width: 1fr; }
    """

    def __init__(
        self,
        presets: Sequence[Preset],
        *,
        placeholder: str = "1 to 9 take a preset, or type a reason (a few letters complete one)",
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._presets: list[Preset] = list(presets)
        self.preset_index = -1
        self._placeholder = placeholder

    def compose(self) -> ComposeResult:
        # The field above its suggestions; focus order field → list → what follows, so tab
        # from the list (where the dialog opens) goes straight on.
        yield TextField(
            placeholder=self._placeholder,
            id="reason",
            compact=True,
            suggester=self._suggester(),
            # Empty, a digit takes that preset (no reason starts with one) and ? helps.
            keys_when_empty=("question_mark", *(str(n) for n in range(1, DIGITS + 1))),
            # Type-ahead focuses it with a letter in it, which must not get selected (and
            # replaced by the next letter).
            select_on_focus=False,
        )
        yield PresetList(self._presets, id="presets")

    def _suggester(self) -> SuggestFromList:
        return SuggestFromList([text for text, _ in self._presets], case_sensitive=False)

    @property
    def input(self) -> TextField:
        return self.query_one("#reason", TextField)

    @property
    def preset_list(self) -> PresetList:
        return self.query_one(PresetList)

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
            self.preset_list.presets = list(presets)
            self.preset_list.choose(-1)
            self.input.suggester = self._suggester()

    # -- choosing ----------------------------------------------------------------------------

    def _set(self, index: int) -> None:
        self.preset_index = index
        text, _code = self._presets[index]
        field = self.input
        with field.prevent(Input.Changed):
            field.value = text
        field.cursor_position = len(text)
        self.preset_list.choose(index)
        self.post_message(self.Picked(self, index))

    def step(self, by: int) -> None:
        """Put the next (``by`` 1) or previous (-1) preset into the field."""
        if not self._presets:
            return
        self._set((self.preset_index + by) % len(self._presets))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pick":
            (number,) = parameters
            return isinstance(number, int) and number <= len(self._presets)
        return True

    def action_pick(self, number: int) -> None:
        if 1 <= number <= len(self._presets):
            self._set(number - 1)
            if self.input.has_focus:
                # Picked from the empty field: on to the list, where y sends (in the field
                # it would type a y).
                self.screen.set_focus(self.preset_list)

    def completion(self, typed: str) -> int | None:
        """The preset a typed beginning completes (the first one it begins), if any."""
        folded = typed.strip().casefold()
        if not folded:
            return None
        for index, (text, code) in enumerate(self._presets):
            if text.casefold().startswith(folded) or (code or "").casefold() == folded:
                return index
        return None

    class Picked(Message):
        """A preset was taken (digit, arrow or completion)."""

        def __init__(self, field: ReasonField, index: int) -> None:
            super().__init__()
            self.field = field
            self.index = index

        @property
        def control(self) -> ReasonField:
            return self.field

    # -- events ------------------------------------------------------------------------------

    def type_ahead(self, character: str) -> None:
        """A letter pressed on the preset list starts free text with it. Focus moves at once
        (not after a message), so the letters typed next follow it in order."""
        field = self.input
        self.screen.set_focus(field)
        field.insert_text_at_cursor(character)

    @on(Input.Changed, "#reason")
    def _changed(self, event: Input.Changed) -> None:
        index = self.completion(event.value)
        self.preset_index = -1
        if index is not None and self._presets[index][0].casefold() == event.value.casefold():
            self.preset_index = index
        self.preset_list.choose(index if index is not None else -1)

    @on(Input.Submitted, "#reason")
    def _submitted(self, event: Input.Submitted) -> None:
        """``enter`` takes the preset the typed letters complete (the owner's handler, which
        runs next, sees the completed reason)."""
        index = self.completion(event.value)
        if index is not None:
            self._set(index)

    @on(FieldLeft, "#reason")
    def _left(self) -> None:
        self.preset_list.focus()
