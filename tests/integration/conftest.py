"""One sandbox for the integration tests; every test gets fresh demo data and no faults."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tui.core.service import StoplineService
from tui.core.settings import load_settings
from tui.runtime import env_to_overrides
from tui.sandbox import SandboxConfig, SandboxServer, control

PATTERN_DELAY_S = 0.3


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    config = SandboxConfig(pattern_cancel_delay_s=PATTERN_DELAY_S)
    with SandboxServer(config) as server:
        yield server


@pytest.fixture
def root_url(sandbox: SandboxServer) -> Iterator[str]:
    control.reset(sandbox.root_url)
    control.clear_faults(sandbox.root_url)
    control.forget_calls(sandbox.root_url)
    yield sandbox.root_url
    control.clear_faults(sandbox.root_url)


@pytest.fixture
def sandbox_env(
    sandbox: SandboxServer, root_url: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The sandbox's STOPLINE_* variables, set in the environment as a user would."""
    env = sandbox.settings_env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
async def service(sandbox: SandboxServer, root_url: str) -> AsyncIterator[StoplineService]:
    overrides = env_to_overrides(sandbox.settings_env())
    overrides["confirm_poll_s"] = 0.1
    overrides["confirm_timeout_s"] = 5.0
    for key in ("pattern", "ordermesh", "shoplazza", "rxuniverse"):
        overrides[key]["timeout_s"] = 1.0
    async with StoplineService.from_settings(load_settings(**overrides)) as svc:
        yield svc
