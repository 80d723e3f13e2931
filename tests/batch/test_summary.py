"""A batch's summary is a running tally, not a store of every row: memory stays flat at any
size (bench/batch_throughput.py measures it), and the progress line reads the tallies."""

from __future__ import annotations

from tui.cli.batch_cmd import _counts_text
from tui.core.batch import BatchResult, BatchRow, BatchSummary
from tui.core.domain import CancelOutcome, CancelRequest, Outcome
from tui.core.vocabulary import RowStatus, Why


def result(line_no: int, outcome: Outcome | None) -> BatchResult:
    request = CancelRequest(provider="pattern", order_id=f"MO-{line_no}", reason="r")
    answer = (
        CancelOutcome(provider="pattern", order_id=request.order_id, outcome=outcome)
        if outcome is not None
        else None
    )
    return BatchResult(
        BatchRow(line_no, request), answer, not_sent=None if answer else Why.HELD
    )


def test_only_rows_that_are_not_complete_are_kept_the_first_by_line_and_bounded() -> None:
    summary = BatchSummary(total=5_000, attention_limit=100)
    # Arriving out of order, as concurrent rows do: every third row is refused.
    for line_no in reversed(range(1, 5_001)):
        summary.add(result(line_no, Outcome.REFUSED if line_no % 3 == 0 else Outcome.COMPLETE))
    assert summary.done == 5_000 and summary.not_run == 0
    assert summary.results == []  # nothing kept but what the report lists
    refused = [n for n in range(1, 5_001) if n % 3 == 0]
    assert [r.line_no for r in summary.attention] == refused[:100]
    assert summary.attention_left_out == len(refused) - 100
    assert summary.counts[RowStatus.REFUSED] == len(refused)
    assert summary.counts[RowStatus.COMPLETE] == 5_000 - len(refused)


def test_keep_all_keeps_every_row_for_a_screen_that_shows_them() -> None:
    summary = BatchSummary(keep_all=True)
    rows = [result(n, Outcome.COMPLETE) for n in range(1, 11)] + [result(11, None)]
    for row in rows:
        summary.add(row)
    assert summary.results == rows
    assert [r.line_no for r in summary.attention] == [11]


def test_the_progress_line_is_read_from_the_running_counts() -> None:
    summary = BatchSummary(total=3)
    summary.add(result(1, Outcome.COMPLETE))
    summary.add(result(2, None))
    assert _counts_text(summary) == "complete 1  held 1"
    # Tallies alone make the line: there is no list of rows to recount.
    summary.counts[RowStatus.UNKNOWN] += 7
    assert _counts_text(summary) == "complete 1  unknown 7  held 1"
