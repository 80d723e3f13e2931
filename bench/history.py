"""History at any size: ``stopline history --json`` (time and peak memory), ``--order`` alone
and ``--since`` on a big journal, and the console's history screen opening, each against its
baseline in the same run.

    .venv/bin/python bench/history.py [--sizes 100000,1000000] [--json-sizes 10000,100000]

Journals are written straight into fresh SQLite files (the real schema, finished attempts of
four providers, ten seconds apart). Then:

* ``--json``: ``stopline history --json --limit N`` over journals of each ``--json-sizes``,
  as a user runs it (a process each); wall time and peak RSS (``wait4``), the RSS as a ratio
  to the smallest journal's (the aim: flat — memory does not grow with the journal);
* ``--order`` (no ``--provider``) and ``--since`` (a window with one attempt in it, and one
  with none) on the biggest journal, against ``--limit 50`` on it;
* the history screen (headless, 80x24): the time from ``h`` to the screen whole — the frame
  with the table of the newest attempts and the footer with the keys that then apply — on
  an empty journal (the note and its keys) and on each size (the aim: at most 1.3x the
  empty one); older pages are read after that, into the table already shown.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

START = datetime(2026, 1, 1, tzinfo=UTC)
AIM = 1.3


def build_journal(path: Path, count: int) -> None:
    from tui.core.journal import SqliteStore

    path.parent.mkdir(parents=True, exist_ok=True)
    SqliteStore(path).close()
    conn = sqlite3.connect(path, isolation_level=None)

    def rows() -> Any:
        for i in range(1, count + 1):
            at = (START + timedelta(seconds=i * 10)).isoformat(timespec="microseconds")
            provider = ("pattern", "ordermesh", "shoplazza", "rxuniverse")[i % 4]
            yield (
                at, at, at, at, "ops", "ops", "elsewhere", 1, provider, f"O-{i:08d}",
                "stock-out", "[]", "finished", 0, "complete", 1, 200, "[]", "[]", "[]",
                "ok", 12.5, i,
            )  # fmt: skip

    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO attempts (started_at, sent_at, finished_at, lease_until, operator,"
        " display_name, host, pid, provider, order_id, reason, items, state, open, outcome,"
        " confirmed, http_status, cancelled, not_cancelled, warnings, message, duration_ms,"
        " version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows(),
    )
    conn.execute("COMMIT")
    conn.close()


def env_for(home: Path) -> dict[str, str]:
    config = home / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("")
    config.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOPLINE_")}
    env.update(
        STOPLINE_CONFIG=str(config),
        STOPLINE_DATA_DIR=str(home / "data"),
        STOPLINE_LOG_DIR=str(home / "log"),
    )
    return env


def journal_of(home: Path) -> Path:
    # No provider configured: history reads the demo journal.
    return home / "data" / "demo" / "journal.sqlite3"


def cli(env: dict[str, str], *args: str) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MiB) and bytes written of ``stopline history ARGS``."""
    began = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "history", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    size = 0
    while chunk := proc.stdout.read(1 << 16):
        size += len(chunk)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"stopline history {' '.join(args)} exited {proc.returncode}")
    return time.perf_counter() - began, usage.ru_maxrss / 1024, size


def median_cli(env: dict[str, str], runs: int, *args: str) -> float:
    return statistics.median(cli(env, *args)[0] for _ in range(runs))


async def open_screen(journal: Path) -> float:
    """Milliseconds from ``h`` to the history screen whole: the table of the newest attempts
    (or the note) and the footer with the keys that then apply — what the operator waits for;
    the older pages are read after, while the table is usable."""
    from textual.widgets import Footer

    from tui.app import StoplineApp
    from tui.core.journal import SqliteJournal
    from tui.core.service import StoplineService
    from tui.core.settings import Settings
    from tui.messages import HistoryLoaded
    from tui.screens.history import HistoryScreen

    service = StoplineService(Settings(), {}, journal=SqliteJournal.open(journal))
    app = StoplineApp(service=service)
    shown = asyncio.Event()

    def hook(message: object) -> None:
        if isinstance(message, HistoryLoaded) and message.first:
            shown.set()

    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await pilot.pause()
        began = time.perf_counter()
        app.open_history()
        await shown.wait()  # the first page read and handed to the screen
        drawn: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        # The footer is whole once a rebuild has begun since the last change of bindings
        # (it reads the bindings as they are then); counted here for any footer.
        screen = app.screen
        footer = screen.query_one(Footer)
        changes, read = 0, 0
        rebuild = footer.recompose

        def changed(_: object) -> None:
            nonlocal changes
            changes += 1

        async def counted_rebuild() -> None:
            nonlocal read
            read = changes
            await rebuild()

        screen.bindings_updated_signal.subscribe(screen, changed)
        footer.recompose = counted_rebuild  # type: ignore[method-assign]
        footer_whole = False

        # The moment the screen is whole — the table (or the note) and the footer with the
        # keys that now apply — is the first refresh after the footer's last rebuild. Read
        # in the callback itself, not when this coroutine is next scheduled (the screen asks
        # for the older pages from the same refresh, and their reading may run first).
        def whole() -> None:
            nonlocal footer_whole
            if drawn.done():
                return
            if footer_whole and read == changes:
                drawn.set_result(time.perf_counter())
                return
            footer_whole = read == changes  # rebuilt: its frame is the next refresh
            app.call_after_refresh(whole)

        app.call_after_refresh(whole)
        spent = (await drawn - began) * 1000
        screen = app.screen
        assert isinstance(screen, HistoryScreen) and (screen.table or not screen.attempts)
        await app.workers.wait_for_complete()
    return spent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="journals for the screen")
    parser.add_argument("--json-sizes", default="10000,100000", help="journals for --json")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    json_sizes = [int(x) for x in args.json_sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="stopline-bench-") as tmp:
        homes: dict[int, Path] = {}
        for count in sorted({0, *sizes, *json_sizes}):
            home = Path(tmp) / f"h{count}"
            build_journal(journal_of(home), count)
            homes[count] = home

        print("stopline history --json (a process each; memory flat = the aim):")
        base_rss = None
        for count in json_sizes:
            env = env_for(homes[count])
            wall, rss, size = cli(env, "--json", "--limit", str(max(count, 1)))
            base_rss = base_rss or rss
            print(
                f"  {count:>9,} attempts  {wall:7.2f} s  peak RSS {rss:6.1f} MiB "
                f"({rss / base_rss:4.2f}x the {json_sizes[0]:,}-attempt journal's)  "
                f"{size / 1e6:7.1f} MB out"
            )

        big = max(sizes)
        env = env_for(homes[big])
        base = median_cli(env, args.runs, "--limit", "50", "--json")
        last = START + timedelta(seconds=big * 10)
        figures = {
            "--order (no --provider)": ("--order", f"O-{big // 2:08d}", "--json"),
            "--since, one in window": ("--since", (last - timedelta(seconds=5)).isoformat()),
            "--since, none in window": ("--since", (last + timedelta(days=1)).isoformat()),
        }
        print(f"filters on {big:,} attempts (a process each, median of {args.runs}):")
        print(f"  {'--limit 50 (baseline)':<26} {base * 1000:7.0f} ms")
        for name, extra in figures.items():
            took = median_cli(env, args.runs, *extra, "--json")
            print(f"  {name:<26} {took * 1000:7.0f} ms  {took / base:5.2f}x")

        print(
            "history screen: ms from h to the screen whole (the table or the note, and its "
            f"keys; median of {args.runs} runs)"
        )
        asyncio.run(open_screen(journal_of(homes[0])))  # warm-up
        empty = statistics.median(
            asyncio.run(open_screen(journal_of(homes[0]))) for _ in range(args.runs)
        )
        print(f"  {'empty journal':<26} {empty:7.1f} ms")
        for count in sizes:
            took = statistics.median(
                asyncio.run(open_screen(journal_of(homes[count]))) for _ in range(args.runs)
            )
            verdict = "met" if took / empty <= AIM else "NOT met"
            print(f"  {count:>12,} attempts {took:7.1f} ms  {took / empty:5.2f}x  (aim <= "
                  f"{AIM}x: {verdict})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
