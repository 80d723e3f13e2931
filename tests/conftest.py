"""Every test runs isolated from the developer's own Stopline config, data and logs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_stopline_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "stopline-home"
    home.mkdir()
    config = home / "config.toml"
    config.write_text("")
    config.chmod(0o600)
    for name in list(os.environ):
        if name.startswith("STOPLINE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("STOPLINE_CONFIG", str(config))
    monkeypatch.setenv("STOPLINE_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("STOPLINE_LOG_DIR", str(home / "log"))
    monkeypatch.setenv("STOPLINE_STATE_DIR", str(home / "state"))
    monkeypatch.setenv("STOPLINE_OPERATOR", "test-operator")
    yield home
