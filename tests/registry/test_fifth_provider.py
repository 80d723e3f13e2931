"""A fifth order system, added through the provider registry alone: its adapter module, its
simulator module and one registry entry (here an entry point, as another package would
ship it). Nothing else in Stopline is touched; it is looked up and cancelled like the four.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.core.domain import LookupState, Outcome
from tui.core.lifecycle import Done
from tui.core.providers import registry
from tui.core.service import StoplineService
from tui.core.settings import load_settings
from tui.runtime import env_to_overrides, sandbox_config
from tui.sandbox import SandboxConfig, SandboxServer, control

HERE = Path(__file__).parent


@pytest.fixture
def fifth() -> Iterator[registry.ProviderSpec]:
    from fifthprovider.core import SPEC

    registry.register(SPEC)
    try:
        yield SPEC
    finally:
        registry.unregister(SPEC.key)


async def test_the_service_looks_up_and_cancels_through_a_registered_fifth_provider(
    fifth: registry.ProviderSpec,
) -> None:
    assert registry.provider_keys()[-1] == "dockyard"
    with SandboxServer(sandbox_config(SandboxConfig())) as server:
        settings = load_settings(**env_to_overrides(server.settings_env()))
        assert settings.enabled_providers()[-1] == "dockyard"
        async with StoplineService.from_settings(settings) as service:
            results = await service.lookup_all("DY-3")
            by_provider = {r.provider: r for r in results}
            assert by_provider["dockyard"].state is LookupState.FOUND
            # Its identifier shape is declared once: the others skip it, it skips theirs.
            assert by_provider["ordermesh"].state is LookupState.SKIPPED
            assert (await service.lookup_one("dockyard", "1004")).state is LookupState.SKIPPED

            final = await service.cancel(service_request("DY-3"))
            assert isinstance(final, Done)
            assert final.outcome.outcome is Outcome.COMPLETE and final.outcome.confirmed
            (attempt,) = await service.attempts()
            assert (attempt.provider, attempt.order_id, attempt.outcome) == (
                "dockyard",
                "DY-3",
                Outcome.COMPLETE,
            )
            # Its secret is one of the configured secrets the log blanks.
            from tui.core.logs import configured_secrets

            assert "demo-dockyard-key" in configured_secrets(settings)
        cancels = control.calls(server.root_url, "cancel")
        assert [c["path"] for c in cancels] == ["/dockyard/orders/DY-3/cancel"]


def service_request(order: str):  # type: ignore[no-untyped-def]
    from tui.core.domain import CancelRequest

    return CancelRequest(provider="dockyard", order_id=order, reason="crate damaged")


def test_a_settings_section_and_its_required_fields_come_from_the_registry(
    fifth: registry.ProviderSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui.core.settings import ConfigError

    monkeypatch.setenv("STOPLINE_DOCKYARD__BASE_URL", "https://dock.example")
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert "dockyard.api_key is required when dockyard.base_url is set" in refused.value.problems
    monkeypatch.setenv("STOPLINE_DOCKYARD__API_KEY", "k-123456")
    assert load_settings().enabled_providers() == ["dockyard"]


@pytest.fixture
def plugin_path(tmp_path: Path) -> str:
    """A site folder declaring the plugin's entry point, as an installed package would."""
    dist = tmp_path / "site" / "fifthprovider-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fifthprovider\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[stopline.providers]\ndockyard = fifthprovider.core\n")
    return os.pathsep.join([str(tmp_path / "site"), str(HERE)])


def stopline(*args: str, path: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": path}
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_command_line_finds_and_cancels_through_a_plugin_provider(plugin_path: str) -> None:
    found = stopline("--demo", "lookup", "DY-2", "--json", path=plugin_path)
    assert found.returncode == 0, found.stderr
    rows = {row["provider"]: row for row in json.loads(found.stdout)}
    assert rows["dockyard"]["state"] == "found"
    assert rows["dockyard"]["orders"][0]["order_id"] == "DY-2"

    cancelled = stopline(
        "--demo", "cancel", "DY-2", "-p", "dockyard", "-r", "crate damaged", "--yes", "--json",
        path=plugin_path,
    )
    assert cancelled.returncode == 0, cancelled.stderr
    answer = json.loads(cancelled.stdout)
    assert (answer["provider"], answer["outcome"], answer["sent"]) == (
        "dockyard",
        "complete",
        True,
    )
    history = stopline("--demo", "history", "--json", path=plugin_path)
    assert [row["provider"] for row in json.loads(history.stdout)] == ["dockyard"]


def test_without_the_entry_point_the_provider_is_unknown(tmp_path: Path) -> None:
    result = stopline(
        "--demo", "cancel", "DY-2", "-p", "dockyard", "-r", "x", "--yes", path=str(HERE)
    )
    assert result.returncode == 2
    assert "unknown provider 'dockyard'" in result.stderr
