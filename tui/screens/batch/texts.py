"""The batch screen's words: the pre-run summary (:mod:`tui.core.batch.report`) and a run's
progress, as Rich ``Text`` in the theme's tones. Provider and file text goes through ``t``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from tui.core.batch import BatchSummary
from tui.core.batch.report import PreRunSummary, plural
from tui.core.domain import Outcome
from tui.core.vocabulary import RowStatus
from tui.widgets.text import t

if TYPE_CHECKING:
    from tui.screens.batch.model import BatchRun

BAD_ROWS_LISTED = 3


def counts_text(summary: BatchSummary, tone: dict[str, str]) -> Text:
    """Every outcome's count, then held and cancelled already (only when some are): running
    counts, never a recount. Every row done is in one of them."""
    counts = summary.counts
    text = Text()
    for index, outcome in enumerate(Outcome):
        if index:
            text.append(" · ", style="dim")
        n = counts[RowStatus.of(outcome)]
        text.append(f"{outcome.label} ")
        text.append(f"{n:,}", style=f"bold {tone[outcome.tone]}" if n else "dim")
    for status in (RowStatus.HELD, RowStatus.ALREADY_CANCELLED):
        if counts[status]:
            text.append(f" · {status.label} ", style="dim")
            text.append(f"{counts[status]:,}", style=f"bold {tone[status.tone]}")
    return text


def preview_text(summary: PreRunSummary, tone: dict[str, str]) -> Text:
    """The preview's summary above its table."""
    text = Text()
    text.append(plural(summary.orders, "order"), style="bold")
    if summary.orders:
        text.append(": " + summary.providers_words())
    if summary.reasons:
        text.append("\n")
        text.append(t(summary.reason_words(), max_chars=200))
    journal = [
        Text(words, style=tone[which] if which is not None else "")
        for which, words in summary.journal_words()
    ]
    if journal:
        text.append("\njournal: ")
        text.append(Text(" · ").join(journal))
    elif summary.orders:
        text.append("\njournal: no earlier attempt on these orders", style="dim")
    if summary.bad_rows:
        text.append(f"\n{summary.bad_rows_words()}: ", style=f"bold {tone['bad']}")
        listed = [
            Text(f"line {e.line_no}: ") + t(e.message, max_chars=100)
            for e in summary.bad_rows[:BAD_ROWS_LISTED]
        ]
        text.append(Text("; ").join(listed))
        if len(summary.bad_rows) > BAD_ROWS_LISTED:
            text.append(f"; … {len(summary.bad_rows) - BAD_ROWS_LISTED:,} more below")
    if summary.orders:
        text.append(
            f"\nr runs {plural(summary.to_send, 'cancel')}, {summary.concurrency} at once "
            "(asks first) · esc edits",
            style="dim",
        )
    else:
        text.append("\nNothing to send. esc edits the rows.", style=tone["bad"])
    return text


def question_text(summary: PreRunSummary) -> Text:
    return Text.assemble(("Cancel ", "bold"), (summary.headline(), "bold"), "?")


def question_detail(summary: PreRunSummary) -> Text:
    words = summary.reason_words()
    text = t(words[:1].upper() + words[1:], max_chars=160)  # not capitalize(): it lowers the rest
    text.append(f"\n{summary.sending_words()}")
    if summary.bad_rows:
        text.append(f"\n{summary.bad_rows_words()}.")
    return text


def run_title(run: BatchRun, tone: dict[str, str]) -> Text:
    summary = run.summary
    title = Text(f"Batch of {plural(summary.total, 'order')} at ", style="bold")
    title.append(run.preview.summary.providers_words())
    title.append(" — ")
    if run.running:
        title.append("running", style=f"bold {tone['info']}")
        title.append(" · s stops · esc leaves it running", style="dim")
    elif run.error is not None:
        title.append("broke off: ", style=f"bold {tone['bad']}")
        title.append(t(run.error, max_chars=200))
    elif run.stopped:
        title.append("stopped", style=f"bold {tone['warn']}")
        title.append(
            f": {summary.not_run:,} not finished; any in flight stay unknown in the journal "
            "— run the batch again to reconcile them",
        )
    else:
        title.append("finished", style=f"bold {tone['good']}")
    return title


def run_counts(run: BatchRun, tone: dict[str, str]) -> Text:
    summary = run.summary
    counts = counts_text(summary, tone)
    elapsed = run.elapsed
    rate = summary.done / elapsed if elapsed > 0 else 0.0
    counts.append(
        f"\n{summary.done:,}/{summary.total:,} done · {summary.skipped:,} not sent"
        f" · {elapsed:.1f} s · {rate:.0f}/s",
        style="dim",
    )
    errors = run.preview.plan.errors
    if errors:
        counts.append(f" · {plural(len(errors), 'bad row')} not sent", style=tone["bad"])
    return counts
