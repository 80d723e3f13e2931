"""How a command fails: one line on stderr and an exit code; the details in the support log."""

from __future__ import annotations

import logging
import sys


def fail(code: int, message: str) -> int:
    from tui.core.text import clean

    sys.stderr.write(f"stopline: {clean(message, max_chars=2000)}\n")
    return code


def ensure_logging() -> None:
    """Attach the support log if this command had not (``history``, a failure before the
    runtime): a crash's details go to the file the message points at, never to stderr."""
    from tui.core.logs import setup_logging
    from tui.core.settings import settings_class

    if any(getattr(h, "_stopline", False) for h in logging.getLogger("stopline").handlers):
        return
    try:
        settings = settings_class()()
    except Exception:  # a broken config must not hide the crash being reported
        settings = settings_class().model_construct()
    setup_logging(settings)
