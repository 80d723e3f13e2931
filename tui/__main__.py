"""Entry point of the ``stopline`` command."""

from __future__ import annotations

import sys


def main() -> None:
    from tui.cli.main import run

    sys.exit(run())


if __name__ == "__main__":
    main()
