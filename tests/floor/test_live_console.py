"""A live floor in the console: what others do appears as it happens — the cancels in flight
on the floor line, an order's latest attempt in the Lines pane (and no cancel key while
someone else is sending one), new rows in the history screen.

Two machines share the journal: here the console (machine B, Pilot) and real ``stopline``
processes (machine A). On PostgreSQL the console hears of A's attempts by ``LISTEN``/
``NOTIFY`` — its polling is set to 30 s, so only a notification can bring them sooner; on
SQLite (one machine, two processes) it polls the journal's version.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from postgres_cluster import PostgresCluster

from tui.app import StoplineApp
from tui.core.journal import SqliteJournal
from tui.core.journal.postgres import PostgresJournal
from tui.core.service import StoplineService
from tui.core.settings import load_settings
from tui.runtime import env_to_overrides
from tui.sandbox import SandboxServer, control
from tui.sandbox.showcase import SHOPLAZZA_OPEN_ID
from tui.screens.history import HistoryScreen
from tui.screens.history_rows import COLUMNS
from tui.screens.lookup import LookupScreen
from tui.widgets.floor_line import FloorLine

from .machines import Machine

CANCEL = ["cancel", SHOPLAZZA_OPEN_ID, "-p", "shoplazza", "-r", "duplicate", "--yes", "--json"]


def console(sandbox: SandboxServer, journal: Any, **settings: Any) -> StoplineApp:
    overrides = {**env_to_overrides(sandbox.settings_env()), **settings}
    service = StoplineService.from_settings(load_settings(**overrides), journal=journal)
    return StoplineApp(service=service, demo=True, show_timings=False)


async def until(pilot: Any, check: Callable[[], bool], seconds: float = 20.0) -> float:
    """Pause until ``check()`` holds (a failure if it never does); how long it took."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > seconds:
            raise AssertionError("the console never showed it")
        await pilot.pause(0.05)
    return time.monotonic() - started


def history_rows(history: HistoryScreen) -> list[list[str]]:
    """Every attempt the history holds, as its row's cells."""
    return [history.cells_of(i) for i in range(len(history.attempts))]


def floor_words(app: StoplineApp) -> str:
    """The floor line's words; empty while it is hidden (nothing in flight)."""
    line = app.screen.query_one(FloorLine)
    return str(line.render()) if line.display else ""


async def test_another_process_cancel_shows_live_on_one_machine(
    sandbox: SandboxServer, root_url: str, tmp_path: Path, isolated_stopline_home: Path
) -> None:
    home = isolated_stopline_home
    env_machine = Machine(
        name="ana",
        role="",
        home=home,
        env={
            **{k: v for k, v in __import__("os").environ.items() if not k.startswith("STOPLINE")},
            "STOPLINE_CONFIG": str(home / "config.toml"),
            "STOPLINE_DATA_DIR": str(home / "data"),
            "STOPLINE_LOG_DIR": str(home / "log"),
            "STOPLINE_OPERATOR": "ana",
            **sandbox.settings_env(),
        },
        root_url=root_url,
    )
    journal = SqliteJournal.open(home / "data" / "journal.sqlite3")
    app = console(sandbox, journal, floor_poll_s=0.1, operator="ben")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.service is not None and isinstance(app.screen, LookupScreen))
        await pilot.press(*SHOPLAZZA_OPEN_ID, "enter")
        screen = app.screen
        assert isinstance(screen, LookupScreen)
        await until(pilot, lambda: screen.highlighted_order() is not None)

        control.add_fault(
            root_url, provider="shoplazza", mode="latency", latency_ms=4000, operations=["cancel"]
        )
        other = env_machine.start(*CANCEL)
        try:
            await until(pilot, lambda: "ana → Shoplazza" in floor_words(app))
            # Someone else is sending it: the cancel key is not offered, and says why.
            assert screen.cancel_blocker() is not None
            assert "ana is cancelling it now" in (screen.cancel_blocker() or "")
            assert not screen.check_action("cancel", ())
        finally:
            _, err = other.communicate(timeout=60)
        assert other.returncode == 0, err
        await until(pilot, lambda: floor_words(app) == "")  # nothing in flight: no line
        await until(pilot, lambda: "cancelled" in str(screen.lines._floor.render()))
        assert "by ana" in str(screen.lines._floor.render())

        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.loaded)
        history = app.screen
        assert isinstance(history, HistoryScreen)
        assert [cells[COLUMNS.index("operator")] for cells in history_rows(history)] == ["ana"]
        # A new attempt while the history is open appears at the top, live.
        again = env_machine.run(
            "cancel", "670e58fe7741035996cf7d21", "-p", "ordermesh", "-r", "x", "--yes"
        )
        assert again.returncode in (0, 4), again.stderr
        await until(pilot, lambda: len(history_rows(history)) == 2)
        assert history_rows(history)[0][COLUMNS.index("order")] == "670e58fe7741035996cf7d21"
    await journal.aclose()


async def test_a_console_on_machine_b_hears_of_machine_a_by_notification(
    machine_a: Machine,
    sandbox: SandboxServer,
    cluster: PostgresCluster,
    database: str,
) -> None:
    journal = PostgresJournal(cluster.url("ben", database))
    # Polling every 30 s: anything sooner can only come by LISTEN/NOTIFY.
    app = console(sandbox, journal, floor_poll_s=30.0, operator="Ben")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.service is not None)
        app.open_history()
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.loaded)
        history = app.screen
        assert isinstance(history, HistoryScreen)
        await asyncio.sleep(0.5)  # the console is listening
        done = await asyncio.to_thread(machine_a.run, *CANCEL)
        assert done.returncode == 0, done.stderr
        who, order, outcome = (COLUMNS.index(c) for c in ("operator", "order", "outcome"))
        took = await until(pilot, lambda: any(c[who] == "ana" for c in history_rows(history)), 10.0)
        # Well before the 30 s poll: the notification brought it (typically ~0.2 s here).
        assert took < 10.0
        (row,) = [c for c in history_rows(history) if c[who] == "ana"]
        assert row[order] == SHOPLAZZA_OPEN_ID and row[outcome] == "COMPLETE"
