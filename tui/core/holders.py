"""Who holds a claim, and whether that process still lives.

On the same host a claim's process is checked directly (pid *and* start time, so a reused
pid is not mistaken for the holder). A claim made on another host cannot be checked: its
lease — the request's deadline plus the time the provider may still take to apply it —
says how long it may still be in flight.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime
from functools import cache

import psutil

from tui.core.journal.model import Attempt, AttemptState, Holder, utcnow

ACTIVE: set[tuple[str, int]] = set()
"""(journal, attempt id) of the attempts this process is claiming or sending right now:
process-wide, since a process may hold several services on one journal."""


@cache
def host_name() -> str:
    return socket.gethostname()


@cache
def _own_start() -> float | None:
    return process_started(os.getpid())


def process_started(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), or None if it is gone."""
    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, OSError, ValueError):
        return None


def this_process(operator: str) -> Holder:
    return Holder(
        operator=operator, host=host_name(), pid=os.getpid(), pid_started=_own_start()
    )


def same_host(holder: Holder) -> bool:
    return holder.host == host_name()


def process_alive(holder: Holder) -> bool:
    """Whether the holder's process still runs (only meaningful on this host)."""
    if holder.pid is None:
        return False
    started = process_started(holder.pid)
    if started is None:
        return False
    if holder.pid_started is None:
        return True
    return abs(started - holder.pid_started) < 1.0


def in_flight(attempt: Attempt, journal: str, *, now: datetime | None = None) -> bool:
    """Whether ``attempt`` may be on its way right now, so must not be judged finished:
    claimed or sent by a live process — this one included — or, when made on another host,
    still within its lease. A finished attempt (even ``unknown``) is never in flight."""
    if attempt.state not in (AttemptState.CLAIMED, AttemptState.SENT):
        return False
    holder = attempt.holder
    if same_host(holder):
        if holder.pid == os.getpid():
            return (journal, attempt.id) in ACTIVE
        return process_alive(holder)
    return attempt.lease_until is not None and (now or utcnow()) < attempt.lease_until
