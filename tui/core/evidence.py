"""What a look-up shows a cancel did: the order now compared with the order just before the
request was sent, line by line and quantity by quantity.

Only a change is evidence. A line that was already cancelled before the attempt confirms
nothing (Pattern's sub-orders cancelled by an earlier attempt are not this one's work), and
an order that is still "open" after an item-quantity cancel may well have had it applied:
only the quantities tell.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from tui.core.domain import CancelledLine, CancelRequest, Line, Order

CANCELLED_WORDS = frozenset({"cancelled", "canceled"})


class Change(StrEnum):
    APPLIED = "applied"
    """Everything asked for shows as cancelled."""
    PARTLY = "partly"
    """Some of it shows as cancelled."""
    PENDING = "pending"
    """The provider shows a cancellation in progress."""
    UNTOUCHED = "untouched"
    """Nothing asked for changed towards cancelled."""
    UNREADABLE = "unreadable"
    """The comparison cannot be made (no record of the order before the attempt)."""


@dataclass(frozen=True)
class Evidence:
    change: Change
    cancelled: list[CancelledLine] = field(default_factory=list)
    """The lines (and quantities) that went from open to cancelled."""
    words: str = ""


def _is_cancelled(line: Line) -> bool:
    return line.status.lower() in CANCELLED_WORDS


def _open_quantity(line: Line) -> int | None:
    if _is_cancelled(line):
        return 0
    return line.quantity


def _wanted_lines(before: Order) -> list[Line]:
    """What a whole-order cancel asks for: the open lines that can be cancelled (or, if the
    look-up marks none so, every open line)."""
    open_lines = [ln for ln in before.lines if ln.cancellable and not _is_cancelled(ln)]
    return open_lines or [ln for ln in before.lines if not _is_cancelled(ln)]


def _wanted(before: Order, request: CancelRequest) -> dict[str, int | None]:
    """Line id → quantity asked for (None: all that was open)."""
    if request.items:
        return {item.id: item.quantity for item in request.items}
    return {ln.id: None for ln in _wanted_lines(before)}


def compare(before: Order | None, now: Order, request: CancelRequest) -> Evidence:
    """What changed between ``before`` and ``now`` towards what ``request`` asked for."""
    if before is None:
        return _without_record(now, request)
    if now.cancelled and not before.cancelled:
        return Evidence(
            Change.APPLIED,
            [CancelledLine(id=now.order_id, status=now.status or "cancelled")],
            f"the order is now {now.status or 'cancelled'}",
        )
    if before.line_ids_positional or now.line_ids_positional:
        return _compare_by_content(before, now, request)
    wanted = _wanted(before, request)
    earlier = {ln.id: ln for ln in before.lines}
    current = {ln.id: ln for ln in now.lines}
    done: list[CancelledLine] = []
    fully = 0
    for line_id, asked in wanted.items():
        was, is_ = earlier.get(line_id), current.get(line_id)
        if was is None or is_ is None or _is_cancelled(was):
            continue
        if _is_cancelled(is_) and not _is_cancelled(was):
            done.append(CancelledLine(id=line_id, status=is_.status, quantity=was.quantity))
            fully += 1
            continue
        before_open, now_open = _open_quantity(was), _open_quantity(is_)
        if before_open is None or now_open is None or now_open >= before_open:
            continue
        gone = before_open - now_open
        done.append(CancelledLine(id=line_id, status=is_.status or "cancelled", quantity=gone))
        if gone >= (before_open if asked is None else asked):
            fully += 1
    if wanted and fully == len(wanted):
        return Evidence(Change.APPLIED, done, _words(done))
    if done:
        return Evidence(Change.PARTLY, done, _words(done))
    if now.cancel_pending and not before.cancel_pending:
        return Evidence(Change.PENDING, [], "the provider shows the cancellation in progress")
    if not wanted and now.cancelled:
        return Evidence(Change.UNTOUCHED, [], "the order was already cancelled before")
    return Evidence(Change.UNTOUCHED, [], f"the order is unchanged ({now.status or 'open'})")


def _content(line: Line) -> tuple[str | None, str | None, int | None]:
    return (line.sku, line.description, line.quantity)


def _compare_by_content(before: Order, now: Order, request: CancelRequest) -> Evidence:
    """Lines named only by their place: which of them changed is read from how many lines of
    each content (SKUs, quantity) are open before and now, whatever order they are listed in.
    A set of lines that is not the same before and now cannot be compared."""
    if request.items:
        return Evidence(
            Change.UNREADABLE,
            [],
            "the lines have no ids of their own to compare items by; compare them by hand",
        )
    if Counter(map(_content, before.lines)) != Counter(map(_content, now.lines)):
        return Evidence(
            Change.UNREADABLE,
            [],
            "the order's lines differ from before and have no ids to match them by; compare "
            "them by hand",
        )
    was_open = Counter(_content(ln) for ln in before.lines if not _is_cancelled(ln))
    is_open = Counter(_content(ln) for ln in now.lines if not _is_cancelled(ln))
    if any(is_open[key] > count for key, count in was_open.items()) or set(is_open) - set(
        was_open
    ):
        return Evidence(
            Change.UNREADABLE,
            [],
            "a line cancelled before shows open now; compare the order by hand",
        )
    wanted = Counter(_content(before_line) for before_line in _wanted_lines(before))
    done: list[CancelledLine] = []
    fully = True
    for key, asked in wanted.items():
        gone = was_open[key] - is_open[key]
        fully = fully and gone >= asked
        now_cancelled = [ln for ln in now.lines if _content(ln) == key and _is_cancelled(ln)]
        for line in now_cancelled[-gone:] if gone else []:
            done.append(CancelledLine(id=line.id, status=line.status, quantity=line.quantity))
    if wanted and fully:
        return Evidence(Change.APPLIED, done, _words(done))
    if done:
        return Evidence(Change.PARTLY, done, _words(done))
    if now.cancel_pending and not before.cancel_pending:
        return Evidence(Change.PENDING, [], "the provider shows the cancellation in progress")
    return Evidence(Change.UNTOUCHED, [], f"the order is unchanged ({now.status or 'open'})")


def _words(lines: list[CancelledLine]) -> str:
    parts = [f"{ln.id} x{ln.quantity}" if ln.quantity else ln.id for ln in lines[:5]]
    more = f" and {len(lines) - 5} more" if len(lines) > 5 else ""
    return "cancelled now: " + ", ".join(parts) + more


def _without_record(now: Order, request: CancelRequest) -> Evidence:
    """An attempt journalled before Stopline kept the order's state: only a whole-order
    cancellation is evidence, and only a whole-order request can be judged untouched."""
    if now.cancelled:
        return Evidence(
            Change.APPLIED,
            [CancelledLine(id=now.order_id, status=now.status or "cancelled")],
            f"the order is now {now.status or 'cancelled'}",
        )
    if now.cancel_pending:
        return Evidence(Change.PENDING, [], "the provider shows the cancellation in progress")
    if request.items:
        return Evidence(
            Change.UNREADABLE,
            [],
            "no record of the quantities before this attempt; compare them by hand",
        )
    if any(_is_cancelled(ln) for ln in now.lines):
        return Evidence(
            Change.UNREADABLE,
            [],
            "some lines show cancelled and there is no record of them before this attempt",
        )
    return Evidence(Change.UNTOUCHED, [], f"no line shows cancelled ({now.status or 'open'})")


def confirmed_count(evidence: Evidence) -> int:
    """How many lines the look-up shows this attempt cancelled (for an initiated cancel)."""
    return len(evidence.cancelled)
