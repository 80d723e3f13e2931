"""``stopline journal migrate`` and ``stopline journal import PATH``: the floor's shared
journal on PostgreSQL (``STOPLINE_JOURNAL_URL``).

Kept light at import time (the parser is built for every command); the work is in :func:`run`.
"""

from __future__ import annotations

import argparse
from typing import Any

from tui.core.vocabulary import plural

DESCRIPTION = """\
The shared journal (STOPLINE_JOURNAL_URL, a postgresql:// URL) is where a floor's supervisors
on many machines claim and record every cancel.

  migrate       create or update its schema and grant the operators' role its privileges;
                run it as the database's owner role (two machines at once are safe)
  import PATH   copy a local SQLite journal's history into it, each attempt once (run it
                again and nothing is copied twice); run it as the owner role
"""

EPILOG = """\
exit codes:
  0  done            1  the journal cannot be reached or refused the change
  2  bad usage (no STOPLINE_JOURNAL_URL, no such file)
"""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "journal",
        help="the shared journal on PostgreSQL: migrate its schema, import a local journal",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="journal_action", metavar="ACTION", required=True)
    migrate = sub.add_parser(
        "migrate",
        help="create or update the schema; grant the operators' role",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    migrate.add_argument(
        "--operators-role",
        default="stopline_operators",
        metavar="ROLE",
        help="the group role of the supervisors' login roles (default stopline_operators)",
    )
    imp = sub.add_parser(
        "import",
        help="copy a local SQLite journal's history into the shared journal",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    imp.add_argument("path", metavar="PATH", help="a journal.sqlite3 file (stopline locate)")


def run(args: argparse.Namespace) -> int:
    import asyncio
    import sys
    from pathlib import Path

    from tui.cli import exit_codes
    from tui.core.identifiers import InvalidInput
    from tui.core.journal.postgres import PostgresJournal
    from tui.core.settings import load_settings

    settings = load_settings()
    if settings.journal_url is None:
        raise InvalidInput(
            "no shared journal: set STOPLINE_JOURNAL_URL (or journal_url in the config file) "
            "to a postgresql:// URL"
        )
    url = settings.journal_url.get_secret_value()

    if args.journal_action == "migrate":

        async def migrate() -> tuple[int, int]:
            journal = PostgresJournal(url, migrate=None)
            try:
                await journal.connect()
                applied = await journal.migrate(operators_role=args.operators_role, grant=True)
                return applied, await journal.schema_version()
            finally:
                await journal.aclose()

        applied, version = asyncio.run(migrate())
        sys.stdout.write(
            f"shared journal at {PostgresJournal(url).where}: schema version {version}"
            f" ({plural(applied, 'step')} applied); role {args.operators_role} granted if it "
            "exists\n"
        )
        return exit_codes.OK

    path = Path(args.path).expanduser()
    if not path.is_file():
        raise InvalidInput(f"{path}: no such journal file")
    from tui.core.holders import host_name
    from tui.core.journal import SqliteStore

    with SqliteStore(path) as store:
        attempts = store.attempts(limit=None)

    async def copy() -> tuple[int, int]:
        journal = PostgresJournal(url)
        try:
            return await journal.import_attempts(
                attempts, f"sqlite:{host_name()}:{path.resolve()}"
            )
        finally:
            await journal.aclose()

    imported, skipped = asyncio.run(copy())
    sys.stdout.write(
        f"{plural(imported, 'attempt')} imported into the shared journal, {skipped} already there\n"
    )
    return exit_codes.OK
