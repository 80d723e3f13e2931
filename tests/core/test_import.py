"""``tui.core`` must stay usable without Textual: the CLI and scripts import it alone."""

from __future__ import annotations

import subprocess
import sys

_CHECK = """
import pkgutil, sys, importlib
{prelude}
import tui.core
names = [m.name for m in pkgutil.walk_packages(tui.core.__path__, "tui.core.")]
for name in names:
    importlib.import_module(name)
leaked = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
print(len(names))
if leaked:
    sys.exit("textual imported: " + ", ".join(leaked[:5]))
"""


def _run(prelude: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _CHECK.format(prelude=prelude)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_every_core_module_imports_without_textual() -> None:
    result = _run()
    assert result.returncode == 0, result.stderr
    # The walk really covered the package (domain, text, settings, service, providers...).
    assert int(result.stdout.strip()) >= 14


def test_the_check_would_notice_textual() -> None:
    result = _run(prelude="import textual")
    assert result.returncode != 0
    assert "textual imported" in result.stderr
