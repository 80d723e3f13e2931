"""What a batch will do, said before it runs: one structured summary that ``stopline batch``
(its question on the terminal) and the console (its preview and its y/n question) both
render in their own way, from the same words."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from tui.core.batch.parse import BatchPlan, BatchRowError
from tui.core.batch.runner import Action
from tui.core.providers import registry
from tui.core.vocabulary import Tone, plural

__all__ = ["PreRunSummary", "plural", "summarize"]


@dataclass(frozen=True)
class PreRunSummary:
    orders: int
    """Valid rows: one order each."""
    by_provider: dict[str, int]
    reasons: tuple[str, ...]
    """The distinct reasons of the rows, in first-seen order."""
    itemised: int
    """Rows asking for chosen items only."""
    actions: Counter[Action] = field(default_factory=Counter)
    """What the journal suggests for the rows (the run decides again under each claim)."""
    bad_rows: tuple[BatchRowError, ...] = ()
    concurrency: int = 1

    @property
    def to_send(self) -> int:
        """Cancels that may be sent (rows the journal shows settled are skipped)."""
        return self.orders - self.actions[Action.SKIP]

    def providers_words(self) -> str:
        return ", ".join(f"{registry.label(k)} ({n:,})" for k, n in self.by_provider.items())

    def headline(self) -> str:
        """``3 orders at Pattern Hub (1), OrderMesh (2)``."""
        text = plural(self.orders, "order")
        return f"{text} at {self.providers_words()}" if self.orders else text

    def reason_words(self) -> str:
        if len(self.reasons) == 1:
            return f"reason: {self.reasons[0]}"
        return f"reasons: {len(self.reasons)} different (from the rows)"

    def journal_words(self) -> list[tuple[Tone | None, str]]:
        """What the journal already shows, each with the tone to say it in."""
        words: list[tuple[Tone | None, str]] = []
        if self.actions[Action.SKIP]:
            words.append((None, f"{self.actions[Action.SKIP]:,} settled earlier: skipped"))
        if self.actions[Action.RECHECK]:
            words.append(
                (
                    Tone.WARN,
                    f"{self.actions[Action.RECHECK]:,} unknown or open earlier: reconciled "
                    "first, sent only if the look-up shows them untouched",
                )
            )
        if self.actions[Action.RESEND]:
            words.append((None, f"{self.actions[Action.RESEND]:,} failed earlier: sent again"))
        return words

    def sending_words(self) -> str:
        """``9 cancel requests may be sent; 2 settled earlier are skipped.``"""
        text = f"{plural(self.to_send, 'cancel request')} may be sent"
        if self.actions[Action.SKIP]:
            text += f"; {self.actions[Action.SKIP]:,} settled earlier are skipped"
        if self.actions[Action.RECHECK]:
            text += f"; {self.actions[Action.RECHECK]:,} reconciled first"
        return text + "."

    def bad_rows_words(self) -> str:
        return f"{plural(len(self.bad_rows), 'bad row')}, not sent"


def summarize(
    plan: BatchPlan, actions: Sequence[Action], concurrency: int = 1
) -> PreRunSummary:
    """The summary of a checked plan, given what the journal suggests for each row."""
    reasons = tuple(dict.fromkeys(row.request.reason for row in plan.rows))
    return PreRunSummary(
        orders=len(plan.rows),
        by_provider=plan.count_by_provider(),
        reasons=reasons,
        itemised=sum(1 for row in plan.rows if row.request.items),
        actions=Counter(actions),
        bad_rows=tuple(plan.errors),
        concurrency=concurrency,
    )
