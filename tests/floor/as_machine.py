"""Run the real ``stopline`` CLI as if on another machine of the floor: ``socket.gethostname``
answers $FLOOR_HOSTNAME (what two machines differ by, for the claims). With
$FLOOR_CLOCK_AHEAD_S this machine's wall clock reads that many seconds ahead (an NTP step, a
VM resumed) — for everything Stopline reads from it. With $FLOOR_JOURNAL_BEHIND_S the shared
journal's own idea of the server's time lags by that much once connected (what a clock that
stops while the machine sleeps would do to it). Nothing else is changed."""

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

behind = float(os.environ.get("FLOOR_JOURNAL_BEHIND_S", "0") or 0)
if behind:
    import tui.core.journal.postgres as postgres_journal

    measure = postgres_journal.PostgresJournal._measure_clock

    async def measure_then_lag(self):  # type: ignore[no-untyped-def]
        await measure(self)
        server, at = self._clock_anchor
        self._clock_anchor = (server - timedelta(seconds=behind), at)

    postgres_journal.PostgresJournal._measure_clock = measure_then_lag  # type: ignore[method-assign]

sys.argv = ["stopline", *sys.argv[1:]]
runpy.run_module("tui", run_name="__main__")
