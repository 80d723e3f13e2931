"""``stopline batch FILE``: cancel many orders at once, resumable from the journal.

Kept light at import time (the parser is built for every command); the work is in :func:`run`.

One idea, kept whole: the `batch` command, from its parser to its report.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from tui.core.vocabulary import plural

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from tui.core.batch import BatchPlan, BatchResult, BatchRunner, BatchSummary

DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 64
INTERRUPTED = 130

DESCRIPTION = """\
Cancel every order listed in FILE, several at a time.

FILE holds one identifier a line (provider and reason from --provider and --reason), or CSV
whose first line is a header naming order_id and any of provider, reason, items:

  provider,order_id,reason,items
  ordermesh,670e58fe7741035996cf7d20,Duplicate import,670e58fe7741035996cf7e01=2;ITEM-2
  pattern,114-3941689-8772232,,

items: ';'-separated, each ID (all that is open) or ID=QTY; empty = the whole order. Empty
provider or reason cells take --provider / --reason. Blank lines and lines starting with '#'
are ignored. Bad rows are reported with their line number and never sent.

Run again with the same file to resume: orders the journal shows settled are skipped, and an
order whose earlier cancel is unknown is reconciled first: looked up and compared with its
state before that cancel; it is sent again only when the look-up shows it untouched after
the earlier request's window. An order another attempt holds (another batch, another
supervisor) is reported as held and never sent twice.
"""

EPILOG = """\
exit codes:
  0  every order complete            5  not found
  1  an error (nothing applied)      6  outcome unknown: run again later to reconcile
  2  bad usage or bad rows           7  held by another attempt: not sent
  3  partial                       130  interrupted (ctrl-c or SIGTERM): run again to resume
  4  refused by the provider
  the first that applies of 6, 7, 1, 3, 4, 5 wins.
"""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "batch",
        help="cancel every order listed in a file (resumable)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE", help="identifiers, one a line, or CSV (see above)")
    p.add_argument("--provider", "-p", help="provider of rows that do not name one")
    p.add_argument("--reason", "-r", help="cancel reason of rows that do not give one")
    p.add_argument(
        "--concurrency",
        "-c",
        type=int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"requests in flight at once, 1..{MAX_CONCURRENCY} (default {DEFAULT_CONCURRENCY})",
    )
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument(
        "--json", action="store_true", help="print one JSON line per order, then a summary line"
    )


def run(args: argparse.Namespace) -> int:
    import sys

    from tui.cli import exit_codes
    from tui.cli.commands import check_provider
    from tui.core.batch import read_batch_file
    from tui.core.identifiers import InvalidInput

    if not 1 <= args.concurrency <= MAX_CONCURRENCY:
        raise InvalidInput(f"--concurrency must be between 1 and {MAX_CONCURRENCY}")
    provider = check_provider(args.provider)
    plan = read_batch_file(args.file, provider=provider, reason=args.reason)
    if not plan.rows:
        report_bad_rows(plan, args.json)
        what = "only bad rows" if plan.errors else "no orders"
        sys.stderr.write(f"stopline: {args.file}: {what}; nothing was sent\n")
        return exit_codes.USAGE
    if not args.yes and not sys.stdin.isatty():
        raise InvalidInput("refusing to cancel without --yes: there is no terminal to confirm on")
    from tui.core.journal import JournalError

    try:
        return _batch(args, plan)
    except JournalError as exc:  # without a journal nothing is sent
        from tui.cli.failure import fail

        return fail(exit_codes.FAILURE, f"{exc}; nothing was sent")


def settle_process_for_batch() -> None:
    """This process is the batch from here on: what exists now — modules, settings, the
    service — lives as long as the batch, so it is collected once and frozen, and the full
    collections a long batch runs no longer scan it.

    (The interpreter's switch interval stays at its 5 ms: the journal's thread groups the
    writes of a burst itself, and a 1 ms interval cost a tenth of the batch's CPU in
    bench/batch_throughput.py for no shorter run.)"""
    from tui import startup_collection

    startup_collection.freeze_long_lived()


def _batch(args: argparse.Namespace, plan: BatchPlan) -> int:
    """Everything up to the question runs outside the event loop, so ctrl-c at the prompt
    simply interrupts; the loop runs only the batch itself."""
    import asyncio
    import sys

    from tui.cli import exit_codes
    from tui.cli.commands import runtime_for
    from tui.core.batch import BatchRunner, BatchSummary
    from tui.core.journal import JournalError
    from tui.core.text import clean

    with runtime_for(args) as runtime:
        service = runtime.open_service()
        closed = False

        async def run_then_close() -> bool:
            nonlocal closed
            try:
                return await _run_interruptibly(
                    runner, plan, summary, json_lines=args.json, demo=runtime.demo
                )
            finally:
                await service.aclose()  # on the loop the clients were used on
                closed = True

        try:
            runner = BatchRunner(service, args.concurrency)
            plan = runner.preflight(plan)  # provider configured, not read-only, items allowed
            if not plan.rows:
                report_bad_rows(plan, args.json, demo=runtime.demo)
                sys.stderr.write("stopline: every row is bad; nothing was sent\n")
                return exit_codes.USAGE
            if not args.yes and not confirm(runner, plan):
                sys.stderr.write("stopline: not sent\n")
                return exit_codes.USAGE
            summary = BatchSummary(bad_rows=len(plan.errors))
            settle_process_for_batch()
            journal_failed: str | None = None
            try:
                interrupted = asyncio.run(run_then_close())
            except JournalError as exc:  # nothing more is sent without a journal
                journal_failed, interrupted = clean(str(exc)), False
        finally:
            if not closed:
                asyncio.run(service.aclose())
    code = (
        exit_codes.FAILURE
        if journal_failed is not None
        else exit_code(summary, plan, interrupted=interrupted)
    )
    if args.json:
        from tui.cli.render import print_json

        print_json(
            {
                "summary": {
                    **summary.to_public(),
                    "errors": [e.to_public() for e in plan.errors],
                    "exit_code": code,
                    "demo": runtime.demo,
                }
            }
        )
    else:
        print_report(summary, plan)
    if journal_failed is not None:  # the rows already sent were finished and reported
        sys.stderr.write(
            f"stopline: {journal_failed}\nstopline: batch stopped: "
            f"{plural(summary.done, 'order')} finished, {summary.not_run} not run. Run the "
            "same command again once the journal is back: settled orders are skipped.\n"
        )
    if interrupted:
        sys.stderr.write(
            f"stopline: interrupted; {plural(summary.not_run, 'order')} not run. Run the same "
            "command again to resume: settled orders are skipped, unknown ones re-checked first.\n"
        )
    return code


async def _run_interruptibly(
    runner: BatchRunner,
    plan: BatchPlan,
    summary: BatchSummary,
    *,
    json_lines: bool,
    demo: bool = False,
) -> bool:
    """Run the batch; ctrl-c and SIGTERM stop it (nothing new starts). True if interrupted."""
    import asyncio
    import contextlib
    import signal
    import sys

    from tui.cli.render import print_json

    loop = asyncio.get_running_loop()
    progress = _progress(len(plan.rows)) if sys.stderr.isatty() else None
    bar: TaskID | None = None

    def on_result(result: BatchResult) -> None:
        if json_lines:
            print_json({**result.to_public(), "demo": demo})
            sys.stdout.flush()
        if progress is not None and bar is not None:
            progress.update(bar, advance=1, counts=_counts_text(summary))

    task = asyncio.ensure_future(runner.run(plan.rows, on_result, summary))
    interrupted = False

    def stop() -> None:
        nonlocal interrupted
        interrupted = True
        task.cancel()

    installed: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop)
            installed.append(sig)
    try:
        if progress is not None:
            progress.start()
            bar = progress.add_task("cancelling", total=len(plan.rows), counts="")
        try:
            await task
        except asyncio.CancelledError:
            if not interrupted:
                raise
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        if progress is not None:
            progress.stop()
    return interrupted


def _progress(total: int) -> Progress:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[counts]}"),
        console=Console(stderr=True, highlight=False, markup=False, emoji=False),
        transient=False,
    )


def _counts_text(summary: BatchSummary) -> str:
    """The progress line's counts, from the summary's running counts (never recounted)."""
    return "  ".join(f"{name.replace('_', ' ')} {n}" for name, n in summary.by_outcome().items())


# -- before sending --------------------------------------------------------------------------


def confirm(runner: BatchRunner, plan: BatchPlan) -> bool:
    """Say what will happen (the same summary the console shows) and ask on the terminal."""
    import asyncio
    import sys

    from tui.core.batch.report import summarize
    from tui.core.text import clean

    actions = [action for action, _ in asyncio.run(runner.expectations(plan.rows))]
    summary = summarize(plan, actions, runner.concurrency)
    out: list[str] = [f"About to cancel {summary.headline()}"]
    out.append(f"  {clean(summary.reason_words(), max_chars=220)}")
    if summary.itemised:
        out.append(f"  {summary.itemised:,} of them for chosen items only")
    out.extend(f"  {words}" for _, words in summary.journal_words())
    out.append(f"  {summary.sending_words()}")
    if summary.bad_rows:
        out.append(f"{summary.bad_rows_words()}:")
        out.extend(f"  line {e.line_no}: {clean(e.message)}" for e in summary.bad_rows[:20])
        if len(summary.bad_rows) > 20:
            out.append(f"  … and {len(summary.bad_rows) - 20} more")
    out.append("Type 'yes' to send: ")
    sys.stderr.write("\n".join(out))
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in {"y", "yes"}


def report_bad_rows(plan: BatchPlan, json_lines: bool, *, demo: bool = False) -> None:
    import sys

    from tui.core.text import clean

    if json_lines:
        from tui.cli.render import print_json

        print_json(
            {
                "summary": {
                    "total": 0,
                    "bad_rows": len(plan.errors),
                    "errors": [e.to_public() for e in plan.errors],
                    "exit_code": 2,
                    "demo": demo,
                }
            }
        )
        return
    for error in plan.errors:
        sys.stderr.write(f"stopline: line {error.line_no}: {clean(error.message)}\n")


# -- after -----------------------------------------------------------------------------------


def exit_code(summary: BatchSummary, plan: BatchPlan, *, interrupted: bool) -> int:
    """0 only when every order is complete and no row was bad; see ``EPILOG``."""
    from tui.cli import exit_codes
    from tui.core.batch import exit_status

    if interrupted:
        return INTERRUPTED
    deciding = exit_status(summary)
    if deciding is not None:
        return exit_codes.BY_OUTCOME[deciding]
    if plan.errors or summary.not_run:
        return exit_codes.USAGE
    return exit_codes.OK


def print_report(summary: BatchSummary, plan: BatchPlan) -> None:
    """Counts per outcome, then every order that is not complete, then the bad rows."""
    from rich.table import Table
    from rich.text import Text

    from tui.cli.render import TONE_STYLE, console, t
    from tui.core.batch import HELD
    from tui.core.domain import Outcome
    from tui.core.providers import registry
    from tui.core.vocabulary import RowStatus

    out = console()
    head = Text.assemble((f"{plural(summary.total, 'order')}: ", "bold"))
    parts = [
        t(f"{RowStatus(name).label} {n}", TONE_STYLE[RowStatus(name).tone])
        for name, n in summary.by_outcome().items()
    ]
    head.append_text(Text(", ").join(parts) if parts else t("none finished"))
    extras = []
    if summary.skipped:
        extras.append(f"{summary.skipped} not sent (journal or look-up)")
    if summary.not_run:
        extras.append(f"{summary.not_run} not run")
    if plan.errors:
        extras.append(plural(len(plan.errors), "bad row"))
    if extras:
        head.append(f"  ({'; '.join(extras)})", style="dim")
    out.print(head)
    unconfirmed = summary.unconfirmed
    if unconfirmed:
        out.print(
            t(
                f"{unconfirmed} initiated, not yet confirmed by the provider "
                "(asynchronous cancel); stopline history shows them",
                "dim",
            )
        )
    rest = summary.attention  # the rows that are not complete, in file order (bounded)
    if rest:
        table = Table(box=None, pad_edge=False, header_style="bold")
        for column in ("line", "provider", "order", "outcome", "detail"):
            table.add_column(column, overflow="fold")
        for r in rest:
            o = r.outcome
            said = (o.message, *o.warnings[-1:]) if o is not None else ()
            detail = "; ".join(dict.fromkeys(x for x in (r.note, *said) if x))
            request = r.row.request
            table.add_row(
                t(r.line_no),
                t(registry.label(request.provider)),
                t(request.order_id, "bold"),
                t(r.status.label, TONE_STYLE[r.status.tone]),
                t(detail),
            )
        out.print()
        out.print(table)
    if summary.attention_left_out:
        out.print(
            t(
                f"… and {summary.attention_left_out} more not complete, not listed here: "
                "--json prints every row, and stopline history has them all.",
                "dim",
            )
        )
    unknown = summary.counts[Outcome.UNKNOWN.value]
    if unknown:
        out.print()
        out.print(
            t(
                f"{unknown} unknown: the cancel may have taken effect. Run the same batch again "
                "later: it reconciles these orders first and sends only to those the look-up "
                "shows untouched once their window has passed.",
                "yellow",
            )
        )
    held = summary.counts[HELD]
    if held:
        out.print(
            t(
                f"{held} held by another attempt (another batch or supervisor): not sent. "
                "stopline history --open shows who holds them.",
                "yellow",
            )
        )
    if plan.errors:
        table = Table(box=None, pad_edge=False, header_style="bold")
        table.add_column("line")
        table.add_column("bad row (not sent)", overflow="fold")
        for error in plan.errors:
            table.add_row(t(error.line_no), t(error.message, "red"))
        out.print()
        out.print(table)
