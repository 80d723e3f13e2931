"""The live breakdown panel: what the provider did with a cancel, updated as answers arrive.

Phases follow the core's cancel lifecycle (:mod:`tui.core.lifecycle`): ``sending`` →
``answered`` (settled) or, for an asynchronous provider whose answer only *initiated* the
cancellation, ``confirming`` → ``confirmed`` / ``gave_up``; ``not_sent`` when the lifecycle
sent nothing (another attempt holds the order…); ``checking`` → ``rechecked`` for ``r`` on
an unknown. A failure to run is ``failed``. The panel renders only ``Text`` built from
cleaned provider text, and decides nothing: what ``r`` does is the core's rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.core.providers import registry
from tui.core.vocabulary import LineState, Outcome, Verdict, Why, plural
from tui.themes import tones
from tui.widgets.text import t

if TYPE_CHECKING:
    from tui.core.domain import CancelOutcome, CancelRequest
    from tui.core.lifecycle import NotSent, Reconciled

Phase = Literal[
    "idle",
    "sending",
    "answered",
    "confirming",
    "confirmed",
    "gave_up",
    "failed",
    "not_sent",
    "checking",
    "rechecked",
]


class BreakdownPanel(VerticalScroll):
    """Outcome of the latest cancel, in words and colour, line by line."""

    DEFAULT_CSS = """
    BreakdownPanel {
        height: auto;
        max-height: 10;
        border: round $panel;
        border-title-color: $text-muted;
        padding: 0 1;
    }
    BreakdownPanel.-idle { height: 3; }
    BreakdownPanel:focus { border: round $primary; }
    BreakdownPanel > Static { width: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="-idle")
        self.border_title = "Outcome"
        self.phase: Phase = "idle"
        self.request: CancelRequest | None = None
        self.outcome: CancelOutcome | None = None
        self.error: str | None = None
        self.updates = 0
        self.is_async = False
        self.provider_label = ""
        self.notes: tuple[str, ...] = ()
        self.not_sent_event: NotSent | None = None
        self.recheck: Reconciled | None = None
        self.idle_hint: Text | str = "No cancel yet. Look an order up, then press c to cancel it."
        self._body = Static(Text(str(self.idle_hint), style="dim"))

    def compose(self):  # type: ignore[no-untyped-def]
        yield self._body

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.redraw())

    # -- state changes (called by the screen on worker messages) --------------------------

    def sending(self, request: CancelRequest, provider_label: str, is_async: bool) -> None:
        self.request = request
        self.provider_label = provider_label
        self.is_async = is_async
        self.outcome = None
        self.error = None
        self.updates = 0
        self.notes = ()
        self.not_sent_event = None
        self.recheck = None
        self.phase = "sending"
        self.redraw()

    def sent(self, request: CancelRequest, notes: tuple[str, ...]) -> None:
        """Written ahead and on its way (``request`` with the quantities sent)."""
        self.request = request
        self.notes = notes
        self.redraw()

    def answered(self, outcome: CancelOutcome, *, will_confirm: bool) -> None:
        self.outcome = outcome
        self.phase = "confirming" if will_confirm else "answered"
        self.redraw()

    def confirmation(self, outcome: CancelOutcome, *, final: bool) -> None:
        self.outcome = outcome
        self.updates += 1
        if final:
            self.phase = "confirmed" if outcome.confirmed else "gave_up"
        self.redraw()

    def done(self, outcome: CancelOutcome) -> None:
        """The lifecycle ended with this outcome."""
        if self.phase == "confirming":
            self.confirmation(outcome, final=True)
            return
        self.outcome = outcome
        self.phase = "answered"
        self.redraw()

    def not_sent(self, event: NotSent) -> None:
        self.request = event.request
        self.not_sent_event = event
        self.outcome = event.outcome
        self.phase = "not_sent"
        self.redraw()

    def checking(self) -> None:
        self.phase = "checking"
        self.error = None
        self.redraw()

    def rechecked(self, result: Reconciled) -> None:
        self.recheck = result
        self.outcome = result.attempt.as_outcome()
        self.phase = "rechecked"
        self.redraw()

    def recheck_failed(self, error: str) -> None:
        self.error = error
        self.phase = "failed"
        self.redraw()

    def failed(self, error: str) -> None:
        self.error = error
        self.phase = "failed"
        self.redraw()

    # -- rendering ---------------------------------------------------------------------------

    def redraw(self) -> None:
        self.set_class(self.phase == "idle", "-idle")
        self._body.update(self.render_body())

    def _headline(self, tone: dict[str, str]) -> Text:
        request = self.request
        head = Text()
        if request is None:
            return head
        head.append(self.provider_label or request.provider, style="bold")
        head.append(" ")
        head.append(t(request.order_id, "bold", max_chars=64))
        head.append(" · ")
        if request.items:
            head.append(plural(len(request.items), "item"))
        else:
            head.append("whole order")
        head.append(" · ")
        return head

    def render_body(self) -> RenderableType:
        tone = tones(self.app.current_theme if self.is_attached else None)
        if self.phase == "idle" or self.request is None:
            idle = self.idle_hint
            hint = Text(idle) if isinstance(idle, str) else idle.copy()
            hint.stylize(tone["muted"])
            return hint
        head = self._headline(tone)
        parts: list[RenderableType] = [head]
        if self.phase == "sending":
            head.append("sending…", style=f"bold {tone['info']}")
            parts.extend(Text(note, style=tone["muted"]) for note in self.notes)
            return Group(*parts)
        if self.phase == "checking":
            head.append("re-checking by look-up…", style=f"bold {tone['info']}")
            return Group(*parts)
        if self.phase == "not_sent" and self.not_sent_event is not None:
            return self._not_sent_body(head, parts, tone)
        if self.phase == "failed" and self.outcome is None:
            head.append("FAILED", style=f"bold reverse {tone['bad']}")
            parts.append(
                Text.assemble(
                    Text("not sent or not answered: ", style=tone["bad"]),
                    t(self.error or "unknown failure", max_chars=400),
                )
            )
            parts.append(Text("r retries", style=tone["muted"]))
            return Group(*parts)
        outcome = self.outcome
        assert outcome is not None
        kind = outcome.outcome.value
        head.append(
            f" {outcome.outcome.words} ",
            style=f"bold reverse {tone[outcome.outcome.tone]}",
        )
        if outcome.http_status:
            head.append(f"  HTTP {outcome.http_status}", style=tone["muted"])
        parts.append(self._progress(outcome, tone))
        if outcome.message:
            parts.append(Text.assemble(Text("provider: ", style=tone["muted"]), t(outcome.message)))
        table = self._lines(outcome, tone)
        if table is not None:
            parts.append(table)
            note = self._answer_note(outcome.provider)
            if note:
                parts.append(Text(note, style=tone["muted"]))
        for warning in outcome.warnings:
            if self.phase == "rechecked" and warning.startswith("re-check: "):
                continue  # said below, in the re-check's own line
            parts.append(Text.assemble(Text("⚠ ", style=tone["warn"]), t(warning, max_chars=400)))
        if self.phase == "rechecked" and self.recheck is not None:
            parts.append(self._recheck_line(tone))
        elif kind == "unknown":
            parts.append(
                Text(
                    "The request may have taken effect. r re-checks by look-up; nothing is "
                    "re-sent.",
                    style=tone["warn"],
                )
            )
        if outcome.request_id:
            parts.append(
                Text.assemble(
                    Text("request id ", style=tone["muted"]), t(outcome.request_id, tone["muted"])
                )
            )
        if self.phase == "failed" and self.error:
            parts.append(Text.assemble(Text("check failed: ", style=tone["bad"]), t(self.error)))
        return Group(*parts)

    def _not_sent_body(
        self, head: Text, parts: list[RenderableType], tone: dict[str, str]
    ) -> RenderableType:
        event = self.not_sent_event
        assert event is not None
        held = event.held
        head.append(" NOT SENT ", style=f"bold reverse {tone['warn' if held else 'muted']}")
        parts.append(t(event.message, max_chars=500))
        if event.why in (Why.EARLIER_UNKNOWN, Why.AWAITING_CONFIRMATION):
            parts.append(Text("r re-checks that attempt by look-up", style=tone["muted"]))
        elif event.why in (Why.HELD, Why.LOOKUP_FAILED):
            parts.append(Text("r tries again", style=tone["muted"]))
        return Group(*parts)

    @staticmethod
    def _answer_note(provider: str) -> str:
        try:
            return registry.get(provider).answer_note
        except KeyError:
            return ""

    def _still_open(self) -> bool:
        """A re-check found the order untouched after the cancel's window: not applied."""
        return (
            self.phase == "rechecked"
            and self.recheck is not None
            and self.recheck.verdict is Verdict.NOT_APPLIED
        )

    def _recheck_line(self, tone: dict[str, str]) -> Text:
        result = self.recheck
        assert result is not None
        verdict = result.verdict.value
        if verdict == "not_applied":
            return Text.assemble(
                Text("re-check: ", style=tone["muted"]), t(result.words, max_chars=300)
            )
        if verdict == "applied":
            return Text.assemble(
                Text("re-check: ", style=tone["muted"]), t(result.words, max_chars=300)
            )
        return Text.assemble(
            Text("re-check: ", style=tone["warn"]), t(result.words, max_chars=300)
        )

    def _progress(self, outcome: CancelOutcome, tone: dict[str, str]) -> Text:
        kind = outcome.outcome.value
        if self.phase == "confirming":
            progress = f" ({plural(self.updates, 'change')} seen)" if self.updates else ""
            return Text(
                f"initiated — checking the order until every line shows cancelled{progress}",
                style=f"bold {tone['info']}",
            )
        if self.phase == "confirmed":
            return Text("confirmed — the provider shows it cancelled", style=f"bold {tone['good']}")
        if self.phase == "gave_up":
            return Text(
                "initiated, NOT confirmed — the check gave up; r re-checks",
                style=f"bold {tone['warn']}",
            )
        if kind in {"complete", "partial"}:
            if outcome.confirmed:
                return Text("cancelled", style=tone["good"])
            return Text("initiated, not yet confirmed", style=tone["warn"])
        if kind == "refused":
            return Text("the provider cancelled nothing", style=tone["bad"])
        if kind == "not_found":
            return Text("the provider does not know this order", style=tone["warn"])
        if self._still_open():
            return Text("still open — press c to send again", style=f"bold {tone['warn']}")
        if self.phase == "rechecked" and kind == "unknown":
            return Text(
                "still unknown — it may yet take effect; r re-checks again",
                style=f"bold {tone['warn']}",
            )
        if kind == "error":
            return Text("nothing was cancelled; r retries", style=tone["bad"])
        return Text("no answer came back", style=tone["warn"])

    def _lines(self, outcome: CancelOutcome, tone: dict[str, str]) -> Table | None:
        if not outcome.cancelled and not outcome.not_cancelled:
            return None
        table = Table.grid(padding=(0, 1))
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True, overflow="ellipsis", max_width=28)
        table.add_column(no_wrap=True, overflow="ellipsis", max_width=18)
        table.add_column(overflow="fold")
        pending = not outcome.confirmed and (
            self.phase in {"confirming", "gave_up"} or outcome.outcome is Outcome.UNKNOWN
        )
        done = LineState.INITIATED if pending else LineState.CANCELLED
        for line in outcome.cancelled:
            table.add_row(
                Text(done.mark, style=tone[done.tone] if done.tone else ""),
                t(line.id, max_chars=64),
                t(line.status, max_chars=40),
                Text("" if line.quantity is None else f"qty {line.quantity}"),
            )
        for miss in outcome.not_cancelled:
            table.add_row(
                Text(LineState.NOT_CANCELLED.mark, style=tone["bad"]),
                t(miss.id, max_chars=64),
                t(miss.status, max_chars=40),
                t(miss.reason, max_chars=300),
            )
        return table
