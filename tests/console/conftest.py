"""A real sandbox for the console tests, and apps wired to it through an injected service."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tui.app import StoplineApp
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
    """The sandbox, with demo data and faults fresh for this test."""
    control.reset(sandbox.root_url)
    control.clear_faults(sandbox.root_url)
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
    """``make_app(read_only=False, attempts=None, **settings)``: an app on the sandbox."""

    def build(
        *, read_only: bool = False, attempts: int | None = None, **settings: Any
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
        service = StoplineService.from_settings(load_settings(**overrides), **http)
        return StoplineApp(service=service, demo=True, read_only=read_only, show_timings=False)

    return build


@pytest.fixture
def make_journal_app(make_app: AppFactory) -> Iterator[AppFactory]:
    """``make_app`` with a journal in this test's data dir (``app.service.journal``)."""
    from tui.core.journal import Journal

    journals: list[Journal] = []

    def build(**kwargs: Any) -> StoplineApp:
        app = make_app(**kwargs)
        service = app._given_service
        assert service is not None
        journal = Journal(service.settings.journal_path())
        journals.append(journal)
        service.journal = journal
        return app

    yield build
    for journal in journals:
        journal.close()
