"""What the console remembers between starts (the theme chosen in it), in a small file of its
own — never in the user's ``config.toml``, which may be shared or provisioned.

The file is ``<user state dir>/stopline/console.json`` (``STOPLINE_STATE_DIR`` overrides the
folder; ``stopline locate`` prints it). Read before the first frame, so it needs neither
pydantic nor Textual. A missing, unreadable or broken file is the same as an empty one, and a
failure to write it never stops the console: remembering is a convenience.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger("stopline.console")

STATE_DIR_VARIABLE = "STOPLINE_STATE_DIR"
FILE_NAME = "console.json"
MAX_BYTES = 64 * 1024
"""A larger file is not ours: ignored."""


def state_path() -> Path:
    override = os.environ.get(STATE_DIR_VARIABLE, "").strip()
    if override:
        return Path(override).expanduser() / FILE_NAME
    import platformdirs

    return platformdirs.user_state_path("stopline", appauthor=False) / FILE_NAME


def read_state(path: Path | None = None) -> dict[str, Any]:
    path = path or state_path()
    try:
        if path.stat().st_size > MAX_BYTES:
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remembered_theme(path: Path | None = None) -> str | None:
    value = read_state(path).get("theme")
    return value if isinstance(value, str) and value.strip() else None


def remember_theme(name: str, path: Path | None = None) -> bool:
    """Write ``name`` as the theme to start with; True when written."""
    path = path or state_path()
    data = read_state(path)
    if data.get("theme") == name:
        return True
    data["theme"] = name
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")
        scratch.replace(path)  # another console writing at once: one of them wins, whole
    except OSError as exc:
        log.warning("could not remember the theme in %s: %s", path, exc)
        return False
    return True
