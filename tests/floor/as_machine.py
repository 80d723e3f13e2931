"""Run the real ``stopline`` CLI as if on another machine of the floor: ``socket.gethostname``
answers $FLOOR_HOSTNAME (what two machines differ by, for the claims), and with
$FLOOR_CLOCK_AHEAD_S this machine's wall clock reads that many seconds ahead (an NTP step, a
VM resumed) — for everything Stopline reads from it. Nothing else is changed."""

import os
import runpy
import socket
import sys
from datetime import timedelta

name = os.environ.get("FLOOR_HOSTNAME")
if name:
    socket.gethostname = lambda: name  # type: ignore[assignment]

ahead = float(os.environ.get("FLOOR_CLOCK_AHEAD_S", "0") or 0)
if ahead:
    import tui.core.holders as holders
    import tui.core.journal.model as model
    import tui.core.journal.postgres as postgres
    import tui.core.journal.sqlite as sqlite
    import tui.core.journal.sqlite_store as sqlite_store

    real = model.utcnow

    def wrong() -> "object":
        return real() + timedelta(seconds=ahead)

    for module in (model, postgres, holders, sqlite, sqlite_store):
        if hasattr(module, "utcnow"):
            module.utcnow = wrong  # type: ignore[attr-defined]

sys.argv = ["stopline", *sys.argv[1:]]
runpy.run_module("tui", run_name="__main__")
