"""One attempt, everything the journal holds about it: the grid and the modal that shows it
(``enter`` on the history screen)."""


from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.core.domain import Outcome
from tui.core.providers import registry
from tui.core.text import clean
from tui.core.vocabulary import Tone
from tui.screens.history_rows import WORD_TONE, outcome_word
from tui.screens.modal import HelpfulModal
from tui.themes import tones
from tui.widgets.keys_footer import KeysFooter
from tui.widgets.text import t

if TYPE_CHECKING:
    from tui.core.journal import Attempt






def _when(moment: Any) -> Text:
    if moment is None:
        return Text("—", style="dim")
    return Text(moment.astimezone().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " (local)")


def attempt_detail(attempt: Attempt, tone: dict[str, str], in_flight: bool = False) -> Table:
    """Everything the journal holds about one attempt, as plain ``Text`` cells (``in_flight``:
    its process is sending it right now, as the table says)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    shown = outcome_word(attempt, in_flight)
    word = Text(shown, style=f"bold {tone[WORD_TONE.get(shown, Tone.WARN)]}")
    if attempt.outcome in (Outcome.COMPLETE, Outcome.PARTIAL):
        word.append(
            "  confirmed by the provider" if attempt.confirmed else "  initiated, not confirmed",
            style="" if attempt.confirmed else tone["warn"],
        )
    if attempt.state == "sent":
        word.append("  no answer recorded: the cancel may have taken effect", style=tone["warn"])
    if in_flight:
        word.append(
            "  its process is sending it now: nothing more is sent to the order meanwhile",
            style=tone["warn"],
        )
    elif attempt.open:
        word.append(
            "  holds the order: nothing more is sent to it until this is reconciled (r)",
            style=tone["warn"],
        )
    grid.add_row("outcome", word)
    grid.add_row("provider", t(registry.label(attempt.provider)))
    grid.add_row("order", t(attempt.order_id, "bold"))
    who = t(attempt.operator)
    if attempt.host:
        who.append(f"  on {clean(attempt.host, max_chars=60)}", style=tone["muted"])
    if attempt.pid:
        who.append(f"  pid {attempt.pid}", style=tone["muted"])
    grid.add_row("operator", who)
    reason = t(attempt.reason)
    if attempt.reason_code:
        reason.append("  code ")
        reason.append(t(attempt.reason_code, "bold"))
    grid.add_row("reason", reason)
    if attempt.items:
        items = Text("\n").join(
            t(i.id) + Text(f" x{i.quantity}" if i.quantity is not None else " (all open)")
            for i in attempt.items
        )
    else:
        items = Text("the whole order")
    grid.add_row("asked for", items)
    if attempt.cancelled:
        grid.add_row(
            "cancelled",
            Text("\n").join(
                t(c.id, tone["good"])
                + Text(f" x{c.quantity}" if c.quantity is not None else "")
                + (Text(" — ") + t(c.status) if c.status else Text(""))
                for c in attempt.cancelled
            ),
        )
    if attempt.not_cancelled:
        grid.add_row(
            "not cancelled",
            Text("\n").join(
                t(n.id, tone["bad"])
                + (Text(" — ") + t(n.status) if n.status else Text(""))
                + (Text(": ") + t(n.reason) if n.reason else Text(""))
                for n in attempt.not_cancelled
            ),
        )
    grid.add_row("message", t(attempt.message) if attempt.message else Text("—", style="dim"))
    if attempt.warnings:
        grid.add_row("warnings", Text("\n").join(t(w, tone["warn"]) for w in attempt.warnings))
    grid.add_row("HTTP", Text(str(attempt.http_status) if attempt.http_status else "—"))
    grid.add_row(
        "request id", t(attempt.request_id) if attempt.request_id else Text("—", style="dim")
    )
    grid.add_row("started", _when(attempt.started_at))
    grid.add_row("sent", _when(attempt.sent_at))
    grid.add_row("answered", _when(attempt.finished_at))
    if attempt.open and attempt.lease_until is not None:
        grid.add_row("may apply until", _when(attempt.lease_until))
    if attempt.updated_at is not None:
        grid.add_row("updated", _when(attempt.updated_at))
    grid.add_row(
        "took",
        Text(f"{attempt.duration_ms:.0f} ms" if attempt.duration_ms is not None else "—"),
    )
    grid.add_row("attempt", Text(f"#{attempt.id} in the journal", style="dim"))
    return grid


class AttemptDetailScreen(HelpfulModal[None]):
    HELP_TITLE = "attempt detail"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,enter,q",
            "dismiss",
            "Close",
            id="stopline.history.detail.close",
            tooltip="Back to the history",
        ),
    ]

    DEFAULT_CSS = """
    AttemptDetailScreen { align: center middle; }
    AttemptDetailScreen > VerticalScroll {
        width: 100%; max-width: 100; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, attempt: Attempt, *, in_flight: bool = False) -> None:
        super().__init__()
        self.attempt = attempt
        self.in_flight = in_flight

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = Text.assemble(
                "Attempt on ", t(self.attempt.order_id, max_chars=40)
            )
            scroll.border_subtitle = Text("esc closes")
            yield Static(self.body_text(), id="detail")
        yield KeysFooter()

    def body_text(self) -> Table:
        """The detail as shown (a grid of cleaned ``Text``)."""
        return attempt_detail(self.attempt, tones(self.app.current_theme), self.in_flight)
