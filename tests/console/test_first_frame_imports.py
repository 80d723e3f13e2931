"""The console's first frame loads neither pydantic nor httpx: settings, the providers and
the journal are opened in a thread once the lookup screen is on screen. The vocabulary the
screens share (:mod:`tui.core.vocabulary`) is what lets them name outcomes without either."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("pydantic", "pydantic_core", "pydantic_settings", "httpx", "httpcore", "psycopg")
LATER = ("importlib.metadata", "sqlite3", "textual.widgets._text_area")
"""Not packages of their own, but loaded only later: by the runtime (the registry's entry
points, the journal) or by the batch screen (its paste area)."""

_PROBE = """
import sys
{prelude}
from tui.app import StoplineApp

HEAVY = {heavy!r}
LATER = {later!r}


class FirstFrame(StoplineApp):
    def open_runtime(self) -> None:  # called once the first frame is drawn
        loaded = sorted(
            {{m.split(".")[0] for m in sys.modules if m.split(".")[0] in HEAVY}}
            | {{m for m in LATER if m in sys.modules}}
        )
        print("loaded:" + ",".join(loaded), flush=True)
        print("screen:" + type(self.screen).__name__, flush=True)
        self.exit()


FirstFrame(lambda: None).run(headless=True, size=(80, 24))
"""


def _probe(prelude: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _PROBE.format(prelude=prelude, heavy=HEAVY, later=LATER)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_first_frame_loads_neither_pydantic_nor_httpx() -> None:
    result = _probe()
    assert result.returncode == 0, result.stderr
    assert "screen:LookupScreen" in result.stdout
    assert "loaded:\n" in result.stdout, result.stdout


def test_the_probe_would_notice_pydantic() -> None:
    result = _probe(prelude="import tui.core.domain")
    assert result.returncode == 0, result.stderr
    loaded = result.stdout.split("loaded:")[1].split("\n")[0].split(",")
    assert "pydantic" in loaded


def test_the_probe_would_notice_the_registrys_entry_points() -> None:
    result = _probe(prelude="import importlib.metadata")
    assert result.returncode == 0, result.stderr
    assert "loaded:importlib.metadata" in result.stdout
