"""Shared fixtures for the core tests: an isolated environment, a scripted fake API, fake time.

Every provider is built on ``httpx.MockTransport`` over :class:`FakeApi`, which routes
``(METHOD, raw path)`` to queued answers and records every request that reached it, so a
test can assert exactly what was (and was not) sent. Waits go through :class:`FakeSleep`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from tui.core.providers.factory import build_provider
from tui.core.service import StoplineService
from tui.core.settings import Settings
from tui.core.vocabulary import BUILTIN_PROVIDERS

from .fakes import FakeApi, FakeClock, FakeSleep, make_settings


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    """No real user config or STOPLINE_* variable leaks into a test."""
    for name in list(os.environ):
        if name.upper().startswith("STOPLINE_"):
            monkeypatch.delenv(name)
    home = tmp_path_factory.mktemp("home")
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    config = home / "config.toml"
    config.write_text("", encoding="utf-8")
    config.chmod(0o600)
    monkeypatch.setenv("STOPLINE_CONFIG", str(config))
    return config


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleep(clock: FakeClock) -> FakeSleep:
    return FakeSleep(clock)


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def settings_for() -> Callable[..., Settings]:
    return make_settings


@pytest.fixture
async def provider_for(api: FakeApi, sleep: FakeSleep):
    """``provider_for(key, settings=None, **http)`` → an adapter on the fake API."""
    made: list[Any] = []

    def make(key: str, settings: Settings | None = None, **http: Any) -> Any:
        http.setdefault("sleep", sleep)
        provider = build_provider(key, settings or make_settings(), transport=api.transport, **http)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


@pytest.fixture
async def service_for(api: FakeApi, sleep: FakeSleep):
    """``service_for(settings=None, **kw)`` → a StoplineService whose providers share ``api``."""
    made: list[StoplineService] = []

    def make(settings: Settings | None = None, **kw: Any) -> StoplineService:
        kw.setdefault("sleep", sleep)
        service = StoplineService.from_settings(
            settings or make_settings(),
            transports={key: api.transport for key in BUILTIN_PROVIDERS},
            **kw,
        )
        made.append(service)
        return service

    yield make
    for service in made:
        await service.aclose()
