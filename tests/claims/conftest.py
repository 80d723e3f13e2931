"""One sandbox shared by real ``stopline`` processes: the claim tests count the cancel
requests it received."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.sandbox import SandboxConfig, SandboxServer, control

from .floor import Floor


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(pattern_cancel_delay_s=0.5)) as server:
        yield server


@pytest.fixture
def root_url(sandbox: SandboxServer) -> Iterator[str]:
    control.reset(sandbox.root_url)
    control.clear_faults(sandbox.root_url)
    control.forget_calls(sandbox.root_url)
    yield sandbox.root_url
    control.clear_faults(sandbox.root_url)


@pytest.fixture
def floor(
    sandbox: SandboxServer, root_url: str, isolated_stopline_home: Path
) -> Floor:
    env = {
        name: value for name, value in os.environ.items() if not name.startswith("STOPLINE_")
    }
    env.update(
        {
            "STOPLINE_CONFIG": str(isolated_stopline_home / "config.toml"),
            "STOPLINE_DATA_DIR": str(isolated_stopline_home / "data"),
            "STOPLINE_LOG_DIR": str(isolated_stopline_home / "log"),
            "STOPLINE_OPERATOR": "ana",
            **sandbox.settings_env(),
        }
    )
    return Floor(root_url=root_url, env=env)


