"""Who holds a claim, and whether that process still lives.

On the same host a claim's process is checked directly (pid *and* start time, so a reused
pid is not mistaken for the holder). A claim made on another host cannot be checked: its
lease — the request's deadline plus the time the provider may still take to apply it —
says how long it may still be in flight.
"""

from __future__ import annotations

import os
import socket
from collections import Counter
from datetime import datetime
from functools import cache

from tui.core.journal.model import Attempt, AttemptState, Holder, utcnow

ACTIVE: set[tuple[str, int]] = set()
"""(journal, attempt id) of the attempts this process is claiming or sending right now:
process-wide, since a process may hold several services on one journal."""

CLAIMING: Counter[tuple[str, str, str]] = Counter()
"""(journal, provider, order id) → how many claims this process is taking on it right now.
A claim is committed on the journal's side before its task resumes and joins
:data:`ACTIVE`; meanwhile another claim of this process on the same order must not read it
as the dead claim of a process that stopped. Read before :data:`ACTIVE` (a claim leaves
this count only once it is in ``ACTIVE``), from any thread."""

KEPT: set[tuple[str, int]] = set()
"""(journal, attempt id) of the attempts of this process whose end (the provider's answer,
or a stop) the journal refused and the process keeps writing again: a ``sent`` row it
still means to finish, so it holds its order here as one in flight does."""


@cache
def host_name() -> str:
    return socket.gethostname()


def process_started(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), or None if it is gone."""
    import psutil  # on the first claim, not at start-up

    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, OSError, ValueError):
        return None


def this_process(operator: str) -> Holder:
    pid = os.getpid()  # a forked child is another process: its own holder
    return _holder(operator, pid)


@cache
def _holder(operator: str, pid: int) -> Holder:
    return Holder(operator=operator, host=host_name(), pid=pid, pid_started=process_started(pid))


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


def claiming_here(journal: str, attempt: Attempt, *, others_than: int = 0) -> bool:
    """Whether this process is taking a claim on ``attempt``'s order right now, or is sending
    ``attempt`` — beyond ``others_than`` claims (a claim asking about the row it meets counts
    itself out), or still means to write what happened to it (:data:`KEPT`)."""
    if (
        attempt.state is AttemptState.CLAIMED
        and CLAIMING[(journal, attempt.provider, attempt.order_id)] > others_than
    ):
        return True
    return (journal, attempt.id) in ACTIVE or (journal, attempt.id) in KEPT


def in_flight(
    attempt: Attempt, journal: str, *, now: datetime | None = None, claiming: int = 0
) -> bool:
    """Whether ``attempt`` may be on its way right now, so must not be judged finished:
    claimed or sent by a live process — this one included — or, when made on another host,
    still within its lease (as the journal's clock says). A finished attempt (even
    ``unknown``) is never in flight. ``claiming``: how many of this process's own claims on
    the order are asking (they do not count as holding it)."""
    if attempt.state not in (AttemptState.CLAIMED, AttemptState.SENT):
        return False
    holder = attempt.holder
    if same_host(holder):
        if holder.pid == os.getpid():
            return claiming_here(journal, attempt, others_than=claiming)
        return process_alive(holder)
    return not attempt.lease_over(now or utcnow())
