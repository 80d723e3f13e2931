"""The cancel dialog: reason (a numbered preset or free text), items where the provider
cancels items, and a preview of what will be asked — order, provider, environment, count —
which is the review: ``y`` sends it, ``enter`` asks once more first.

Returns the :class:`~tui.core.domain.CancelRequest` to send, or None when backed out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from tui.core.vocabulary import ENVIRONMENT_TONE, Tone, plural
from tui.screens.modal import HelpfulModal
from tui.themes import tones
from tui.widgets.items import ItemPicker
from tui.widgets.keys_footer import KeysFooter
from tui.widgets.reason import PresetList, ReasonField
from tui.widgets.text import t

if TYPE_CHECKING:
    from tui.core.domain import CancelRequest, Order
    from tui.host import CancelContext

PREVIEW_ITEMS = 8
"""Picked items the preview names; the rest are counted."""


class CancelDialog(HelpfulModal["CancelRequest | None"]):
    HELP_TITLE = "cancel dialog"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "y",
            "send",
            "Send",
            id="stopline.dialog.send",
            tooltip="Send the cancel as shown (this dialog is the review)",
        ),
        Binding(
            "enter",
            "submit",
            "Ask first…",
            id="stopline.dialog.submit",
            tooltip="Ask once more (y/n) before sending",
        ),
        Binding(
            "escape",
            "back",
            "Back",
            id="stopline.dialog.back",
            tooltip="Close without cancelling anything",
        ),
        Binding(
            "down",
            "preset(1)",
            "Next reason",
            show=False,
            id="stopline.dialog.next_reason",
            tooltip="Next preset reason",
        ),
        Binding(
            "up",
            "preset(-1)",
            "Prev reason",
            show=False,
            id="stopline.dialog.prev_reason",
            tooltip="Previous preset reason",
        ),
    ]

    DEFAULT_CSS = """
    CancelDialog { align: center middle; }
    CancelDialog > #dialog {
        width: 100%; max-width: 96; height: auto; max-height: 100%; overflow-y: auto;
        border: thick $error; background: $surface; padding: 0 1;
    }
    CancelDialog #title { margin: 0 0 1 0; }
    CancelDialog .field-label { color: $text-muted; }
    CancelDialog #items-help { color: $text-muted; margin: 1 0 0 0; }
    CancelDialog #whole { margin: 1 0 0 0; }
    CancelDialog #preview { margin: 1 0 0 0; }
    CancelDialog #problem { color: $error; text-style: bold; }
    CancelDialog #keys { color: $text-muted; }
    """

    def __init__(self, order: Order, context: CancelContext) -> None:
        super().__init__()
        self.order = order
        self.context = context
        self._notes: tuple[object, Text] | None = None
        """The preview's fixed part and the theme it was coloured for."""

    # -- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        ctx = self.context
        with Vertical(id="dialog"):
            yield Static(self._title(), id="title")
            codes = " (the lab's reason codes)" if ctx.reasons.codes else ""
            yield Label(
                f"Reason{codes} — a number takes a preset; letters start your own",
                classes="field-label",
            )
            yield ReasonField(ctx.presets(), id="reason-field")
            if ctx.supports_item_cancel and self.order.lines:
                yield Static(
                    Text(
                        "Items — tab here · space pick · +/- quantity · a all · n none"
                        " · nothing picked = whole order"
                    ),
                    id="items-help",
                )
                yield ItemPicker(self.order.lines, id="items")
            else:
                yield Static(self._whole_text(), id="whole")
            yield Static(id="preview")
            yield Static(id="problem")
            yield Static(Text("y sends it as shown · enter asks first · esc back"), id="keys")
        yield KeysFooter()

    def on_mount(self) -> None:
        # The common case is a preset: focus on the numbered list, where a digit takes one
        # and y sends; a letter starts free text.
        self.query_one(PresetList).focus()
        self._refresh_preview()

    def _title(self) -> Text:
        ctx = self.context
        tone = tones(self.app.current_theme if self.is_attached else None)
        title = Text("Cancel order ", style="bold")
        title.append(t(self.order.order_id, "bold", max_chars=64))
        title.append(" at ")
        title.append(ctx.label, style="bold")
        title.append(" ")
        title.append(
            f" {ctx.environment.upper()} ",
            style=f"bold reverse {tone[ENVIRONMENT_TONE.get(ctx.environment, Tone.WARN)]}",
        )
        if ctx.journal_note:
            title.append("\njournal: ", style=f"bold {tone['warn']}")
            title.append(t(ctx.journal_note, max_chars=200))
        return title

    def _whole_text(self) -> Text:
        return Text(f"{self.context.label} cancels whole orders, not chosen lines.")

    # -- state -------------------------------------------------------------------------------

    @property
    def reason(self) -> str:
        return self.query_one("#reason", Input).value.strip()

    def picked(self) -> dict[str, int | None]:
        """Item id → quantity picked (None: all of it); empty for the whole order."""
        pickers = self.query(ItemPicker)
        return dict(pickers.first().selected) if pickers else {}

    def build_request(self) -> CancelRequest:
        """The request as it stands; raises ``ValueError`` with what is missing."""
        from tui.core.domain import CancelRequest, ItemSelection

        reason = self.reason
        if not reason:
            raise ValueError("Give a reason first: a number takes a preset, or type one.")
        code = self.context.code_for(reason)
        if self.context.reasons.codes and self.context.reasons.required and code is None:
            raise ValueError(
                f"{self.context.label} needs one of its reason codes: a number takes one."
            )
        picked = self.picked()  # once: an order may have thousands of lines
        items = []
        if picked:
            for line in self.order.lines:
                if line.id not in picked:
                    continue
                qty = picked[line.id]
                full = qty is None or (line.quantity is not None and qty >= line.quantity)
                items.append(ItemSelection(id=line.id, quantity=None if full else qty))
        return CancelRequest(
            provider=self.order.provider,
            order_id=self.order.order_id,
            reason=reason,
            reason_code=code,
            items=tuple(items),
        )

    def _refresh_preview(self) -> None:
        self.query_one("#preview", Static).update(self.preview())
        self.query_one("#problem", Static).update("")

    def what_words(self, picked: dict[str, int | None]) -> Text:
        """What will be asked for, counted truly: the items picked, or the whole order and
        how many of its lines can still be cancelled."""
        order = self.order
        if picked:
            parts = []
            for line in order.lines:
                if line.id in picked:
                    qty = picked[line.id]
                    parts.append(t(line.id, max_chars=30) + Text(f" x{qty}" if qty else ""))
                    if len(parts) == PREVIEW_ITEMS:
                        break
            named = Text.assemble(plural(len(picked), "item"), ": ", Text(", ").join(parts))
            if len(picked) > len(parts):
                named.append(f", … and {len(picked) - len(parts):,} more")
            return named
        if not order.lines:
            return Text("the whole order")
        cancellable = order.cancellable_count
        if cancellable == len(order.lines):
            every = "both" if cancellable == 2 else f"all {cancellable:,}"
            lines = "line" if cancellable == 1 else "lines"
            return Text(f"the whole order ({'its one' if cancellable == 1 else every} {lines})")
        return Text(
            f"the whole order: the {plural(cancellable, 'line')} of {len(order.lines):,} "
            "that can still be cancelled"
        )

    def preview(self) -> Text:
        """What will be asked: the picked items (the first few named, the rest counted),
        then what the order says whatever is picked (worked out once, see
        :meth:`_order_notes`)."""
        picked = self.picked()
        text = Text("Will ask ", style="bold")
        text.append(self.context.label, style="bold")
        text.append(" to cancel ", style="bold")
        text.append_text(self.what_words(picked))
        text.append(".")
        text.append_text(self._order_notes())
        return text

    def _order_notes(self) -> Text:
        """The preview's lines that do not depend on what is picked: built on first use and
        kept, so a toggle on a 10,000-line order does not walk every line again."""
        theme = self.app.current_theme if self.is_attached else None
        if self._notes is not None and self._notes[0] is theme:
            return self._notes[1]
        tone = tones(theme)
        order = self.order
        text = Text()
        if not order.cancellable:
            text.append("\nAlready known not cancellable: ", style=tone["bad"])
            text.append(t(order.not_cancellable_reason or order.status, max_chars=200))
        blocked = [ln for ln in order.lines if not ln.cancellable]
        for line in blocked[:4]:
            text.append("\nnot cancellable: ", style=tone["bad"])
            text.append(t(line.id, max_chars=30))
            text.append(" — ")
            text.append(t(line.not_cancellable_reason or line.status, max_chars=120))
        if len(blocked) > 4:
            text.append(f"\n… and {len(blocked) - 4:,} more not cancellable", style=tone["bad"])
        if self.context.is_async:
            text.append(
                "\nThe provider only initiates it; the outcome panel keeps checking.",
                style=tone["muted"],
            )
        self._notes = (theme, text)
        return text

    # -- events and actions ------------------------------------------------------------------

    @on(Input.Changed, "#reason")
    @on(ReasonField.Picked)
    def _reason_changed(self) -> None:
        self.query_one("#problem", Static).update("")

    @on(Input.Submitted, "#reason")
    def _reason_submitted(self) -> None:
        self.action_submit()

    @on(ItemPicker.Changed)
    def _items_changed(self) -> None:
        self._refresh_preview()

    def action_preset(self, step: int) -> None:
        self.query_one(ReasonField).step(step)

    def action_back(self) -> None:
        self.dismiss(None)

    def _request_or_problem(self) -> CancelRequest | None:
        try:
            return self.build_request()
        except ValueError as exc:
            self.query_one("#problem", Static).update(Text(str(exc)))
            return None

    def action_send(self) -> None:
        """``y``: this dialog shows what will be sent (order, provider, environment, count,
        reason): send it without asking again."""
        request = self._request_or_problem()
        if request is not None:
            self.dismiss(request)

    def action_submit(self) -> None:
        request = self._request_or_problem()
        if request is None:
            return
        from tui.screens.confirm import ConfirmScreen

        self.app.push_screen(
            ConfirmScreen(self.question(request)), callback=self._confirmed(request)
        )

    def question(self, request: CancelRequest) -> Text:
        ctx = self.context
        text = Text("Cancel order ", style="bold")
        text.append(t(self.order.order_id, "bold", max_chars=64))
        text.append(f" at {ctx.label} ({ctx.environment})?\n", style="bold")
        what = self.what_words(self.picked() if request.items else {})
        text.append("What: ")
        text.append_text(what)
        text.append("\nReason: ")
        text.append(t(request.reason, max_chars=120))
        if request.reason_code:
            text.append(f" (code {request.reason_code})")
        return text

    def _confirmed(self, request: CancelRequest):  # type: ignore[no-untyped-def]
        def answer(yes: bool | None) -> None:
            if yes:
                self.dismiss(request)

        return answer
