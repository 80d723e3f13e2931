"""``stopline`` without a command: the console.

The first frame comes first: only the app and its first screen are imported here; settings,
the demo sandbox and the service are opened in a thread once the lookup screen is drawn, and
the demo sandbox starts serving only once the providers are shown (its address is taken
before, so a look-up typed meanwhile waits for it).
"""

from __future__ import annotations

import sys


def run_console(demo: bool, read_only: bool) -> int:
    """Run the console until the user quits; returns the process exit code."""
    from tui import startup_collection

    startup_collection.pause()
    try:
        return _run(demo, read_only)
    finally:
        startup_collection.resume()


def _run(demo: bool, read_only: bool) -> int:
    from tui.app import StoplineApp
    from tui.cli.exit_codes import USAGE

    def open_runtime():  # type: ignore[no-untyped-def]
        from tui.runtime import open_runtime as _open

        return _open(demo=demo, read_only=read_only, defer_sandbox=True)

    app = StoplineApp(open_runtime, demo=demo, read_only=read_only)
    app.run()
    if app.problems:
        # Also on the terminal after the console closes, where it can be copied.
        from tui.core.text import clean

        head = "configuration problems" if app.config_problem else "could not start"
        lines = "\n  ".join(clean(p, max_chars=2000) for p in app.problems)
        sys.stderr.write(f"stopline: {head}:\n  {lines}\n")
        return USAGE if app.config_problem else 1
    return app.return_code or 0
