"""The in-process server: start/stop, settings for clients, determinism, import hygiene."""

from __future__ import annotations

import errno
import socket
import subprocess
import sys
import textwrap

import httpx
import pytest

from tui.sandbox import SandboxConfig, SandboxError, SandboxServer
from tui.sandbox.showcase import SHOWCASE

SAMPLE_PATHS = (
    "/shoplazza/openapi/2022-01/orders/633130-00000012",
    "/rxuniverse/api/v2/job_track/stations",
)


def test_settings_env_points_clients_at_the_sandbox(server: SandboxServer) -> None:
    root = server.root_url
    assert root.startswith("http://127.0.0.1:")
    assert server.settings_env() == {
        "STOPLINE_PATTERN__BASE_URL": f"{root}/pattern/hub",
        "STOPLINE_PATTERN__TOKEN_URL": f"{root}/pattern-admin/adminczar/api/v1/oauth2/token",
        "STOPLINE_PATTERN__CLIENT_ID": "demo-pattern",
        "STOPLINE_PATTERN__CLIENT_SECRET": "demo-pattern-secret",
        "STOPLINE_ORDERMESH__BASE_URL": f"{root}/ordermesh",
        "STOPLINE_ORDERMESH__CLIENT_ID": "demo-ordermesh",
        "STOPLINE_ORDERMESH__CLIENT_SECRET": "demo-ordermesh-secret",
        "STOPLINE_SHOPLAZZA__BASE_URL": f"{root}/shoplazza",
        "STOPLINE_SHOPLAZZA__ACCESS_TOKEN": "demo-shoplazza-token",
        "STOPLINE_RXUNIVERSE__BASE_URL": f"{root}/rxuniverse",
        # The simulated lab's own reason codes, as a lab's settings would name them.
        "STOPLINE_RXUNIVERSE__REASON_CODES": (
            '{"1": "Customer request", "2": "Duplicate order", "3": "Wrong prescription", '
            '"4": "Frame out of stock", "5": "Lens out of stock", "9": "Other"}'
        ),
        "STOPLINE_RXUNIVERSE__REASON_REQUIRED": "true",
    }


def test_start_is_idempotent_and_stop_closes_the_port() -> None:
    server = SandboxServer()
    with pytest.raises(SandboxError):
        _ = server.root_url
    root = server.start()
    assert server.start() == root
    assert server.start_seconds is not None
    assert httpx.get(f"{root}/_sandbox/health").json()["status"] == "ok"
    server.stop()
    assert not server.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{root}/_sandbox/health", timeout=1.0)
    server.stop()  # a second stop is harmless


def test_a_busy_port_is_reported() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        server = SandboxServer(port=busy.getsockname()[1])
        with pytest.raises(OSError) as raised:
            server.start()
    assert raised.value.errno == errno.EADDRINUSE
    assert not server.running


def test_stop_releases_calls_held_by_a_timeout_fault() -> None:
    with SandboxServer() as server:
        root = server.root_url
        httpx.post(f"{root}/_sandbox/faults", json={"mode": "timeout"})
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{root}/rxuniverse/api/v2/orders/72544", timeout=0.2)
    assert not server.running


def _snapshot(root: str) -> tuple[object, list[str]]:
    with httpx.Client(base_url=root) as http:
        listing = http.get("/_sandbox/orders").json()
        bodies = [
            http.get(path, headers={"Access-Token": "demo-shoplazza-token"}).text
            for path in SAMPLE_PATHS
        ]
        some_rx = listing["rxuniverse"][::10]
        bodies += [http.get(f"/rxuniverse/api/v2/orders/{n}").text for n in some_rx]
    return listing, bodies


def test_same_seed_same_data_different_seed_different_data() -> None:
    with SandboxServer(SandboxConfig(seed=7)) as one, SandboxServer(SandboxConfig(seed=7)) as two:
        assert _snapshot(one.root_url) == _snapshot(two.root_url)
    with SandboxServer(SandboxConfig(seed=8)) as other:
        listing, _ = _snapshot(other.root_url)
    assert listing != _snapshot_listing(seed=7)


def _snapshot_listing(seed: int) -> object:
    with SandboxServer(SandboxConfig(seed=seed)) as server:
        return httpx.get(f"{server.root_url}/_sandbox/orders").json()


def test_showcase_endpoint_matches_the_module(client: httpx.Client) -> None:
    served = client.get("/_sandbox/showcase").json()
    assert {provider: [e["id"] for e in entries] for provider, entries in served.items()} == {
        provider: [ident for ident, _ in entries] for provider, entries in SHOWCASE.items()
    }


def test_importing_and_running_the_sandbox_never_imports_textual() -> None:
    code = textwrap.dedent(
        """
        import sys
        import tui.sandbox
        assert "uvicorn" not in sys.modules, "uvicorn must be imported lazily"
        from tui.sandbox import SandboxServer
        with SandboxServer() as server:
            pass
        assert "textual" not in sys.modules
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert result.stderr == ""
