"""Entry point of the ``stopline`` command."""

from __future__ import annotations

import sys


def main() -> None:
    # httpx imports its own command-line client (click, and Pygments through rich) when it
    # can, ~10 ms at every start for a tool this program never runs: a module set to None
    # in sys.modules is one Python refuses to import, and httpx then defines a stub `main`.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    from tui.cli.main import run

    sys.exit(run())


if __name__ == "__main__":
    main()
