"""Fixtures of the fault suite: a real sandbox over loopback HTTP, and services on it whose
providers time out fast and whose back-off waits are shortened."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tui.app import StoplineApp
from tui.core.journal import SqliteJournal, SqliteStore
from tui.core.service import StoplineService
from tui.core.settings import Settings
from tui.sandbox import SandboxConfig, SandboxServer, control

from .hostile import HostileServer
from .kit import quick_sleep, sandbox_settings

OPERATOR = "test-operator"
"""Set by the root conftest (``STOPLINE_OPERATOR``)."""


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    """Pattern shows cancellations at once here (``test_confirmation`` has its own sandbox
    with a delay); no Shoplazza bucket (its 429s are injected as faults instead)."""
    config = SandboxConfig(pattern_cancel_delay_s=0.0, shoplazza_rate_per_s=None)
    with SandboxServer(config) as server:
        yield server


@pytest.fixture
def fresh(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    """The shared sandbox with its demo data and fault rules fresh for this test."""
    control.reset(sandbox.root_url)
    control.clear_faults(sandbox.root_url)
    control.forget_calls(sandbox.root_url)
    yield sandbox
    control.clear_faults(sandbox.root_url)


@dataclass
class Stack:
    """The real service path: adapters over HTTP to the sandbox, a write-ahead journal (the
    service's; ``journal`` is the same file opened again for the test to read)."""

    server: SandboxServer
    settings: Settings
    service: StoplineService
    journal: SqliteStore

    closed_by_app: bool = False

    @property
    def url(self) -> str:
        return self.server.root_url

    def console(self) -> StoplineApp:
        """The console on this stack's service; the app owns the service and closes it."""
        self.closed_by_app = True
        return StoplineApp(service=self.service, demo=True, show_timings=False)


StackFactory = Callable[..., Stack]


@pytest.fixture
async def make_stack(fresh: SandboxServer, tmp_path: Path) -> AsyncIterator[StackFactory]:
    """``make_stack(server=None, **settings)`` → a :class:`Stack`, closed after the test."""
    made: list[Stack] = []

    def build(server: SandboxServer | None = None, **extra: Any) -> Stack:
        server = server or fresh
        settings = sandbox_settings(server, **extra)
        path = tmp_path / f"journal-{len(made)}.sqlite3"
        service = StoplineService.from_settings(
            settings, journal=SqliteJournal.open(path), sleep=quick_sleep
        )
        stack = Stack(server, settings, service, SqliteStore(path))
        made.append(stack)
        return stack

    yield build
    for stack in made:
        if not stack.closed_by_app:
            await stack.service.aclose()  # closes the service's journal
        stack.journal.close()


@pytest.fixture(scope="session")
def hostile_server() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


@pytest.fixture
def hostile(
    hostile_server: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[HostileServer]:
    """The hostile provider, behaving until told otherwise, with Stopline's environment
    pointing every provider at it (timeouts of 1 s)."""
    hostile_server.reset()
    for name, value in hostile_server.settings_env().items():
        monkeypatch.setenv(name, value)
    yield hostile_server
    hostile_server.reset()
    logger = logging.getLogger("stopline")
    for handler in list(logger.handlers):  # the CLI attached the support log: detach it
        if getattr(handler, "_stopline", False):
            logger.removeHandler(handler)
            handler.close()
