"""Snapshot tests: a real sandbox, apps wired to it, and nothing on screen that varies by run.

Every app here hides durations (``show_timings=False``), uses one fixed theme, starts on demo
data reset to its initial state, and is built from a service the test owns — so the sandbox's
random port never reaches the screen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tui.app import StoplineApp
from tui.core.service import StoplineService
from tui.core.settings import load_settings
from tui.runtime import env_to_overrides
from tui.sandbox import SandboxConfig, SandboxServer, control

THEME = "stopline-dark"
PATTERN_DELAY_S = 0.3
"""Pattern confirms cancellations this long after they are initiated (real: minutes)."""


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    config = SandboxConfig(pattern_cancel_delay_s=PATTERN_DELAY_S, shoplazza_rate_per_s=None)
    with SandboxServer(config) as server:
        yield server


AppFactory = Callable[..., StoplineApp]


@pytest.fixture
def make_app(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> AppFactory:
    """``make_app(read_only=False, attempts=None, **sections)``: an app on freshly reset demo
    data, fixed theme."""
    # Colours must not depend on the developer's terminal settings.
    monkeypatch.delenv("NO_COLOR", raising=False)
    control.reset(sandbox.root_url)
    control.clear_faults(sandbox.root_url)

    def build(
        *, read_only: bool = False, attempts: int | None = None, **sections: dict[str, Any]
    ) -> StoplineApp:
        """``sections``: provider settings on top of the sandbox's (``shoplazza={...}``)."""
        overrides = env_to_overrides(sandbox.settings_env())
        overrides.update(confirm_poll_s=0.1, confirm_timeout_s=5.0, theme=THEME)
        overrides["shoplazza"]["rate_per_s"] = 100.0
        for key, values in sections.items():
            overrides[key] = {**overrides[key], **values}
        http = {} if attempts is None else {"attempts": attempts}
        service = StoplineService.from_settings(load_settings(**overrides), **http)
        return StoplineApp(
            service=service, demo=True, read_only=read_only, show_timings=False, theme=THEME
        )

    return build


@pytest.fixture
def sandbox_netloc(sandbox: SandboxServer) -> str:
    """``127.0.0.1:PORT`` of this run's sandbox: must never appear in a snapshot."""
    return sandbox.root_url.split("://", 1)[1].rstrip("/")
