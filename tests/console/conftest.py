"""A real sandbox for the console tests, and apps wired to it through an injected service."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tui.app import StoplineApp
from tui.core.journal import SqliteJournal, SqliteStore
from tui.core.service import StoplineService
from tui.core.settings import load_settings
from tui.runtime import env_to_overrides
from tui.sandbox import SandboxConfig, SandboxServer, control

PATTERN_DELAY_S = 0.4
"""Pattern confirms cancellations this long after they are initiated (real: minutes)."""


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    config = SandboxConfig(pattern_cancel_delay_s=PATTERN_DELAY_S, shoplazza_rate_per_s=None)
    with SandboxServer(config) as server:
        yield server


@pytest.fixture
def root_url(sandbox: SandboxServer) -> Iterator[str]:
    """The sandbox, with demo data, faults and its record of calls fresh for this test."""
    control.reset(sandbox.root_url)
    control.clear_faults(sandbox.root_url)
    control.forget_calls(sandbox.root_url)
    yield sandbox.root_url
    control.clear_faults(sandbox.root_url)


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


AppFactory = Callable[..., StoplineApp]


@pytest.fixture
def make_app(sandbox: SandboxServer, root_url: str) -> AppFactory:
    """``make_app(read_only=False, attempts=None, **settings)``: an app on the sandbox whose
    service keeps a private scratch journal (every cancel is journalled, even here)."""

    def build(
        *,
        read_only: bool = False,
        attempts: int | None = None,
        journal_path: Path | None = None,
        **settings: Any,
    ) -> StoplineApp:
        overrides = merge(
            env_to_overrides(sandbox.settings_env()),
            {
                "confirm_poll_s": 0.1,
                "confirm_timeout_s": 5.0,
                "shoplazza": {"rate_per_s": 100.0},
            },
        )
        overrides = merge(overrides, settings)
        http = {} if attempts is None else {"attempts": attempts}
        journal = SqliteJournal.open(journal_path) if journal_path is not None else None
        service = StoplineService.from_settings(load_settings(**overrides), journal=journal, **http)
        return StoplineApp(service=service, demo=True, read_only=read_only, show_timings=False)

    return build


@pytest.fixture
def journal_path(isolated_stopline_home: Path) -> Path:
    """The journal file of this test's data dir (what ``stopline history`` would read)."""
    return load_settings().journal_path()


@pytest.fixture
def make_journal_app(make_app: AppFactory, journal_path: Path) -> AppFactory:
    """``make_app`` whose service journals to ``journal_path`` (the app closes it)."""

    def build(**kwargs: Any) -> StoplineApp:
        return make_app(journal_path=journal_path, **kwargs)

    return build


@pytest.fixture
def journal_store(journal_path: Path) -> Iterator[SqliteStore]:
    """A second, blocking handle on the test's journal: to seed attempts before the app runs,
    as another Stopline process would have left them."""
    store = SqliteStore(journal_path)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def live_process() -> Iterator[subprocess.Popen[bytes]]:
    """A real process that stays alive for the test: a claim held by it is in flight."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)
