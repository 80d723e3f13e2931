"""What the console does between its first frame and ready, kept to what a look-up needs:
the cancel lifecycle, psutil (a claim's process check) and httpx's own command-line client
are not loaded until something uses them; the garbage collector, paused while the console
starts, collects again once it is ready or knows it cannot be."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui import startup_collection
from tui.app import StoplineApp
from tui.core.settings import ConfigError

LATER = ("tui.core.lifecycle", "psutil", "click", "uvicorn")

_READY_PROBE = """
import sys
sys.modules.setdefault("httpx._main", None)  # as the program's entry point does
from tui.runtime import open_runtime

runtime = open_runtime(defer_sandbox=True)
service = runtime.open_service()
print("ready-loaded:" + ",".join(m for m in {later!r} if m in sys.modules), flush=True)
{then}
print("then-loaded:" + ",".join(m for m in {later!r} if m in sys.modules), flush=True)
"""


def _probe(env: dict[str, str], then: str = "") -> str:
    result = subprocess.run(
        [sys.executable, "-c", _READY_PROBE.format(later=LATER, then=then)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def configured_env(isolated_stopline_home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "STOPLINE_SHOPLAZZA__BASE_URL": "http://127.0.0.1:9/shoplazza",
        "STOPLINE_SHOPLAZZA__ACCESS_TOKEN": "t",
    }


def test_ready_loads_no_cancel_lifecycle_psutil_or_httpx_cli(
    configured_env: dict[str, str],
) -> None:
    out = _probe(configured_env)
    assert "ready-loaded:\n" in out, out


def test_the_probe_would_notice_them_once_a_cancel_needs_them(
    configured_env: dict[str, str],
) -> None:
    out = _probe(
        configured_env,
        then="service.lifecycle; from tui.core.holders import this_process; this_process('x')",
    )
    assert "then-loaded:tui.core.lifecycle,psutil\n" in out, out


def test_the_demo_console_is_ready_before_the_sandbox_server_is_imported(
    isolated_stopline_home: Path,
) -> None:
    out = _probe(dict(os.environ), then="runtime.after_ready(); runtime.close()")
    assert "ready-loaded:\n" in out, out
    assert "uvicorn" in out.split("then-loaded:")[1], out


@pytest.fixture
def collector() -> Iterator[None]:
    """The test process's collector as it was, whatever the test did to it."""
    was_enabled = gc.isenabled()
    try:
        yield
    finally:
        startup_collection.resume()
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def test_resume_without_a_pause_freezes_nothing(collector: None) -> None:
    before = gc.get_freeze_count()
    startup_collection.resume()
    assert gc.isenabled() and gc.get_freeze_count() == before


def test_a_pause_is_ended_by_resume_which_freezes_what_start_up_made(collector: None) -> None:
    startup_collection.pause()
    assert not gc.isenabled() and startup_collection.is_paused()
    startup_collection.resume()
    assert gc.isenabled() and not startup_collection.is_paused()
    assert gc.get_freeze_count() > 0


async def test_a_console_that_cannot_start_collects_again(collector: None) -> None:
    def refuse() -> object:
        raise ConfigError(["pattern.base_url: not a URL"])

    startup_collection.pause()
    app = StoplineApp(refuse)  # type: ignore[arg-type]
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.problems
    assert gc.isenabled() and not startup_collection.is_paused()


def test_the_program_runs_the_console_with_collection_paused(
    collector: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui.cli import console_cmd

    seen: list[bool] = []
    monkeypatch.setattr(StoplineApp, "run", lambda self, **kw: seen.append(gc.isenabled()))
    assert console_cmd.run_console(demo=True, read_only=False) == 0
    # Paused while the app starts; never left paused when the console has gone.
    assert seen == [False]
    assert gc.isenabled() and not startup_collection.is_paused()


def test_a_batch_freezes_what_it_starts_with(collector: None) -> None:
    from tui.cli.batch_cmd import settle_process_for_batch

    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    long_lived = {"service": [1, 2, 3]}  # made before the batch, as the service is
    assert any(o is long_lived for o in gc.get_objects())
    settle_process_for_batch()
    assert any(o is long_lived for o in gc.get_objects()) is False  # out of collections' sight
    assert gc.get_freeze_count() > 0
    assert gc.isenabled()  # collection goes on for what the batch makes


def test_the_program_never_imports_httpx_command_line_client(
    configured_env: dict[str, str],
) -> None:
    probe = (
        "import atexit, sys\n"
        "seen = lambda: print('loaded:', 'httpx' in sys.modules, 'click' in sys.modules)\n"
        "atexit.register(seen)\n"
        "from tui.__main__ import main\n"
        "sys.argv = ['stopline', 'config', 'check']\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=configured_env,
    )
    # httpx is in use (the providers' clients); its CLI (click, Pygments) is not.
    assert "loaded: True False" in result.stdout, (result.stdout, result.stderr)
