"""A running sandbox shared by the sandbox tests, reset before each test that uses `client`."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tui.sandbox import SandboxConfig, SandboxServer, control

from .helpers import PATTERN_DELAY_S, ordermesh_token, pattern_token

FAST_CONFIG = SandboxConfig(
    pattern_cancel_delay_s=PATTERN_DELAY_S,
    # The shared server has no Shoplazza limit; test_shoplazza.py checks the bucket on its own.
    shoplazza_rate_per_s=None,
)


@pytest.fixture(scope="session")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(FAST_CONFIG) as running:
        yield running


@pytest.fixture(scope="session")
def root_url(server: SandboxServer) -> str:
    return server.root_url


@pytest.fixture
def client(root_url: str) -> Iterator[httpx.Client]:
    """A client of the shared sandbox, whose data and faults are fresh for this test."""
    control.reset(root_url)
    control.clear_faults(root_url)
    with httpx.Client(base_url=root_url, timeout=5.0) as http:
        yield http
    control.clear_faults(root_url)


@pytest.fixture
def pattern_headers(client: httpx.Client) -> dict[str, str]:
    return {"Authorization": f"Bearer {pattern_token(client)}"}


@pytest.fixture
def ordermesh_headers(client: httpx.Client) -> dict[str, str]:
    return {"Authorization": f"Bearer {ordermesh_token(client)}"}
