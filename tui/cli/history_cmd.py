"""``stopline history``: the journal of cancel attempts, newest first.

Reads the journal only: no provider is contacted and the demo sandbox is never started (the
demo journal is found from the settings alone). Kept light at import time; the work is in
:func:`run`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from tui.core.journal.fields import PUBLIC as PUBLIC_FIELDS
from tui.core.vocabulary import Outcome

if TYPE_CHECKING:
    from pathlib import Path

    from rich.table import Table
    from rich.text import Text

    from tui.core.journal import Attempt
    from tui.core.settings import Settings

DEFAULT_LIMIT = 50
MAX_LIMIT = 1_000_000
OUTCOMES = tuple(Outcome)
"""``--outcome`` takes any of the vocabulary's outcomes."""
CSV_FIELDS: tuple[str, ...] = (
    *PUBLIC_FIELDS[: PUBLIC_FIELDS.index("outcome")],
    "standing",
    *PUBLIC_FIELDS[PUBLIC_FIELDS.index("outcome") :],
)
"""``--csv`` columns: the journal's public fields plus ``standing``."""


EPILOG = """\
exit codes:
    0  listed (also when no attempt matches)
    1  the journal cannot be read
    2  bad usage (a bad --limit, --since, --provider or --order)
"""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "history",
        help="list recorded cancel attempts, newest first",
        description="List the cancel attempts in the journal, newest first. An attempt whose "
        "answer never came (the process died, the connection dropped) shows as unknown.",
        epilog=EPILOG,
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print a JSON list of attempts")
    out.add_argument("--csv", action="store_true", help="print CSV (safe to open in a spreadsheet)")
    p.add_argument(
        "--limit",
        "-n",
        type=int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"show at most N attempts (default {DEFAULT_LIMIT})",
    )
    p.add_argument("--provider", "-p", help="only this provider's attempts")
    p.add_argument("--order", metavar="ID", help="only attempts on this order id")
    p.add_argument(
        "--since",
        metavar="WHEN",
        help="only attempts started since: 2026-11-01, 2026-11-01T09:30 (local time "
        "unless it has an offset), or an age such as 30m, 2h, 7d",
    )
    p.add_argument(
        "--outcome",
        choices=OUTCOMES,
        help="only attempts with this outcome (unknown includes unfinished ones)",
    )
    p.add_argument(
        "--open",
        action="store_true",
        help="only open attempts: in flight, or unknown and holding their order until "
        "reconciled",
    )


def demo_journal_wanted(settings: Settings, demo: bool) -> bool:
    """The same rule as :func:`tui.runtime.open_runtime`: demo data when forced or when no
    provider is configured."""
    return demo or not settings.enabled_providers()


def journal_path_for(settings: Settings, demo: bool) -> Path:
    """The journal the runtime would use, without starting the demo sandbox."""
    if demo_journal_wanted(settings, demo):
        return settings.resolved_data_dir() / "demo" / "journal.sqlite3"
    return settings.journal_path()


def run(args: argparse.Namespace) -> int:
    import asyncio

    from tui.cli import exit_codes
    from tui.cli.commands import check_provider
    from tui.cli.failure import fail
    from tui.core.identifiers import InvalidInput, validate_identifier
    from tui.core.journal import AttemptJournal, JournalError, SqliteJournal, parse_since
    from tui.core.journal.history import each_attempt
    from tui.core.settings import load_settings
    from tui.runtime import open_journal

    if not 1 <= args.limit <= MAX_LIMIT:
        raise InvalidInput(f"--limit must be between 1 and {MAX_LIMIT}")
    provider = check_provider(args.provider)
    order_id = validate_identifier(args.order) if args.order is not None else None
    since = parse_since(args.since) if args.since is not None else None

    settings = load_settings()
    demo = demo_journal_wanted(settings, args.demo)
    path = journal_path_for(settings, args.demo)
    shared = settings.journal_url is not None and not demo
    where = "shared" if shared else str(path)
    filters: dict[str, Any] = {
        "provider": provider,
        "order_id": order_id,
        "since": since,
        "outcome": args.outcome,
        "open_only": args.open,
    }
    exists = shared or path.exists()  # reading never creates a local journal

    async def read(use: Callable[[AttemptJournal], Awaitable[None]]) -> None:
        journal = open_journal(settings) if shared else SqliteJournal.open(path)
        try:
            await use(journal)
        finally:
            await journal.aclose()

    if args.json or args.csv:
        # Streamed: each attempt is written as it is read, a page at a time, so a journal
        # of a million attempts takes no more memory than one of fifty.
        writer = JsonWriter(where) if args.json else CsvWriter(where)
        writer.begin()

        async def stream(journal: AttemptJournal) -> None:
            async for attempt in each_attempt(journal, limit=args.limit, **filters):
                writer.write(attempt)

        try:
            if exists:
                asyncio.run(read(stream))
        except JournalError as exc:
            return fail(exit_codes.FAILURE, str(exc))
        finally:
            writer.end()
        return exit_codes.OK

    attempts: list[Attempt] = []

    async def collect(journal: AttemptJournal) -> None:
        attempts.extend(await journal.attempts(args.limit, **filters))

    if exists:
        try:
            asyncio.run(read(collect))
        except JournalError as exc:
            return fail(exit_codes.FAILURE, str(exc))
    from tui.cli.render import console, t

    out = console()
    if demo:
        sys.stderr.write(f"stopline: DEMO journal ({path})\n")
    if not attempts:
        out.print(t("No attempts recorded" + (" that match." if _filtered(args) else ".")))
    else:
        out.print(history_table(attempts, where))
    return exit_codes.OK


def _filtered(args: argparse.Namespace) -> bool:
    return any(getattr(args, name) for name in ("provider", "order", "since", "outcome", "open"))


# -- output ----------------------------------------------------------------------------------


def standing(attempt: Attempt, journal: str) -> str:
    """``in flight`` (its process is sending it), ``open`` (unknown, holding its order until
    reconciled), ``settled`` or ``withdrawn``."""
    from tui.core.holders import in_flight

    if in_flight(attempt, journal):
        return "in flight"
    if attempt.open:
        return "open"
    return "withdrawn" if attempt.state == "withdrawn" else "settled"


def public_row(attempt: Attempt, journal: str) -> dict[str, object]:
    return {**attempt.to_public(), "standing": standing(attempt, journal)}


def csv_cells(attempt: Attempt, journal: str) -> list[str]:
    """One attempt as CSV cells, every one through ``csv_safe`` (formulas made inert).

    List fields are flattened for a spreadsheet: items as in a batch file (``ID=QTY;ID2``),
    cancelled lines ``ID;ID2``, lines not cancelled ``ID: reason; …``, warnings ``; ``-joined.
    """
    from tui.core.batch import format_items
    from tui.core.text import csv_safe

    public = public_row(attempt, journal)
    flat: dict[str, object] = {
        **public,
        "items": format_items(attempt.items),
        "cancelled": ";".join(
            f"{c.id}={c.quantity}" if c.quantity is not None else c.id for c in attempt.cancelled
        ),
        "not_cancelled": "; ".join(
            f"{n.id}: {n.reason or n.status}".rstrip(": ") for n in attempt.not_cancelled
        ),
        "warnings": "; ".join(attempt.warnings),
        "confirmed": "yes" if attempt.confirmed else "no",
        "open": "yes" if attempt.open else "no",
    }
    return [csv_safe("" if flat.get(name) is None else flat[name]) for name in CSV_FIELDS]


def write_csv(attempts: Iterable[Attempt], file: Any, journal: str) -> None:
    import csv

    writer = csv.writer(file, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for attempt in attempts:
        writer.writerow(csv_cells(attempt, journal))


class JsonWriter:
    """``--json``: one JSON list, written an attempt at a time (the same bytes as dumping
    the whole list at once)."""

    def __init__(self, journal: str) -> None:
        self.journal = journal
        self.count = 0

    def begin(self) -> None:
        sys.stdout.write("[")

    def write(self, attempt: Attempt) -> None:
        import json

        sys.stdout.write(", " if self.count else "")
        sys.stdout.write(json.dumps(public_row(attempt, self.journal), ensure_ascii=False))
        self.count += 1

    def end(self) -> None:
        sys.stdout.write("]\n")
        sys.stdout.flush()


class CsvWriter:
    """``--csv``: the header, then a row an attempt, as each is read."""

    def __init__(self, journal: str) -> None:
        import csv

        self.journal = journal
        self._csv = csv.writer(sys.stdout, lineterminator="\n")

    def begin(self) -> None:
        self._csv.writerow(CSV_FIELDS)

    def write(self, attempt: Attempt) -> None:
        self._csv.writerow(csv_cells(attempt, self.journal))

    def end(self) -> None:
        sys.stdout.flush()


def history_table(attempts: list[Attempt], journal: str) -> Table:
    """A compact table of attempts, every cell a plain ``Text`` (never markup)."""
    from rich.table import Table

    from tui.cli.render import TONE_STYLE, t
    from tui.core.batch import format_items
    from tui.core.domain import Outcome
    from tui.core.providers import registry

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("id", "started", "operator", "provider", "order", "outcome"):
        table.add_column(column, no_wrap=True)
    table.add_column("detail", overflow="fold", min_width=24)
    for a in attempts:
        detail: list[str] = []
        where = standing(a, journal)
        if where == "in flight":
            detail.append(f"IN FLIGHT on {a.host or 'this host'} (pid {a.pid})")
        elif where == "open":
            detail.append("OPEN: holds the order until reconciled")
        if a.state == "sent":
            detail.append("no answer recorded")
        elif a.outcome in (Outcome.COMPLETE, Outcome.PARTIAL) and not a.confirmed:
            detail.append("not yet confirmed")
        if a.http_status is not None:
            detail.append(f"HTTP {a.http_status}")
        if a.message:
            detail.append(a.message)
        if a.items:
            detail.append(f"items {format_items(a.items)}")
        detail.append(f"reason: {a.reason}")
        table.add_row(
            t(a.id, "dim"),
            t(a.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")),
            t(a.operator),
            t(registry.label(a.provider)),
            t(a.order_id, "bold"),
            t("in flight", "bold cyan")
            if where == "in flight"
            else t(a.outcome.label, TONE_STYLE[a.outcome.tone]),
            _detail(" · ".join(detail)),
        )
    return table


def _detail(text: str) -> Text:
    from rich.text import Text

    from tui.core.text import clean

    return Text(clean(text, max_chars=300))
