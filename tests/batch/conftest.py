"""Fixtures for the batch tests: a real sandbox over HTTP, a service wired to it, and the
journal's blocking store on the same file for the test to read and prepare."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from tui.core.journal import SqliteJournal, SqliteStore
from tui.core.service import StoplineService
from tui.core.settings import Settings, load_settings
from tui.core.vocabulary import BUILTIN_PROVIDERS
from tui.sandbox import SandboxConfig, SandboxServer

from .kit import CountingTransport


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Override in a test module for latency or faults. Pattern confirms at once here."""
    return SandboxConfig(pattern_cancel_delay_s=0.0)


@pytest.fixture
def sandbox(
    sandbox_config: SandboxConfig, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SandboxServer]:
    """A sandbox on a free loopback port; STOPLINE_* points every provider at it."""
    with SandboxServer(sandbox_config) as server:
        for name, value in server.settings_env().items():
            monkeypatch.setenv(name, value)
        yield server


@pytest.fixture
def settings(sandbox: SandboxServer) -> Settings:
    return load_settings()


@dataclass
class Wired:
    service: StoplineService
    store: SqliteStore
    """The journal the service writes, opened again (a second connection) for the test."""
    http: CountingTransport


@pytest.fixture
async def wired(settings: Settings) -> AsyncIterator[Wired]:
    """The real service path (adapters over HTTP, the SQLite journal) with request counting."""
    path = settings.journal_path()
    http = CountingTransport()
    service = StoplineService.from_settings(
        settings,
        journal=SqliteJournal.open(path),
        transports=dict.fromkeys(BUILTIN_PROVIDERS, http),
    )
    store = SqliteStore(path)
    try:
        yield Wired(service, store, http)
    finally:
        await service.aclose()  # closes its journal too
        await http.aclose()
        store.close()
