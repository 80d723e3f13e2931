"""Elapsed time that keeps counting while the machine sleeps.

``time.monotonic`` never steps, but on Linux it stops while the machine is suspended (a
closed lid, a paused VM): a process that slept two minutes would believe two minutes had not
passed. What must agree with other machines — the shared journal's idea of the server's
time, a cancel's deadline that another machine's lease trusts — is measured here instead:
``CLOCK_BOOTTIME``, which never steps and counts the sleep, where the system has it.
"""

from __future__ import annotations

import time

_BOOTTIME = getattr(time, "CLOCK_BOOTTIME", None)


def elapsed_s() -> float:
    """Seconds on a clock that never steps and runs through suspend (only differences mean
    anything)."""
    if _BOOTTIME is not None:
        return time.clock_gettime(_BOOTTIME)
    return time.monotonic()  # elsewhere: the best the system offers
