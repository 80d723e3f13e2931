"""What a look-up shows a cancel did: the order now compared with the order just before the
request was sent, line by line and quantity by quantity.

Only a change is evidence. A line that was already cancelled before the attempt confirms
nothing (Pattern's sub-orders cancelled by an earlier attempt are not this one's work), and
an order that is still "open" after an item-quantity cancel may well have had it applied:
only the quantities tell. A line asked for that has *moved on* — no longer cancellable, and
not cancelled (picked, shipped, in error) — is evidence too: the cancel did not apply to it
(and once the attempt's window is over, will not). A line asked for that is no longer on
the order at all (re-keyed, split) makes the order unreadable, never "unchanged".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from tui.core.domain import CancelledLine, CancelRequest, Line, NotCancelledLine, Order

CANCELLED_WORDS = frozenset({"cancelled", "canceled"})


class Change(StrEnum):
    APPLIED = "applied"
    """Everything asked for shows as cancelled."""
    PARTLY = "partly"
    """Some of it shows as cancelled (see :attr:`Evidence.final`)."""
    MOVED_ON = "moved_on"
    """None of it is cancelled, and none of it can be any more: every line asked for moved
    on (picked, shipped, in error). The cancel did not apply."""
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
    moved_on: list[NotCancelledLine] = field(default_factory=list)
    """Lines asked for that are no longer cancellable and were not cancelled."""
    final: bool = False
    """Every line asked for is accounted for — cancelled, or moved on — so once the attempt's
    window is over nothing more of this cancel can apply (an initiated cancel then reads as
    settled, not as waiting)."""


def _moved_on(was: Line, is_: Line) -> bool:
    """A line that could be cancelled before and, not cancelled, no longer can."""
    return was.cancellable and not is_.cancellable and not _is_cancelled(is_)


def _moved_words(lines: list[NotCancelledLine]) -> str:
    parts = [f"{ln.id} is {ln.status or 'not cancellable'}" for ln in lines[:5]]
    more = f" and {len(lines) - 5} more" if len(lines) > 5 else ""
    return "no longer cancellable: " + ", ".join(parts) + more


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
    moved: list[NotCancelledLine] = []
    fully = 0
    missing: list[str] = []
    for line_id, asked in wanted.items():
        was, is_ = earlier.get(line_id), current.get(line_id)
        if was is not None and is_ is None and not _is_cancelled(was):
            missing.append(line_id)  # re-keyed, split or removed: nothing to compare with
            continue
        if was is None or is_ is None or _is_cancelled(was):
            continue
        if _is_cancelled(is_) and not _is_cancelled(was):
            done.append(CancelledLine(id=line_id, status=is_.status, quantity=was.quantity))
            fully += 1
            continue
        before_open, now_open = _open_quantity(was), _open_quantity(is_)
        gone = 0
        if before_open is not None and now_open is not None and now_open < before_open:
            gone = before_open - now_open
            done.append(
                CancelledLine(id=line_id, status=is_.status or "cancelled", quantity=gone)
            )
            if gone >= (before_open if asked is None else asked):
                fully += 1
                continue
        if _moved_on(was, is_):
            moved.append(
                NotCancelledLine(
                    id=line_id, status=is_.status, reason=is_.not_cancellable_reason or ""
                )
            )
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        shown = ", ".join(missing[:5]) + more
        return Evidence(
            Change.UNREADABLE,
            done,
            f"{shown} no longer on the order as the look-up shows it; compare the order by hand",
        )
    return _reading(len(wanted), fully, done, moved, before, now)


def _reading(
    asked: int,
    fully: int,
    done: list[CancelledLine],
    moved: list[NotCancelledLine],
    before: Order,
    now: Order,
) -> Evidence:
    """The evidence from how many of the ``asked`` lines were fully cancelled (``done`` lists
    every cancelled quantity) and which ``moved`` on."""
    final = bool(asked) and fully + len(moved) >= asked
    if asked and fully == asked:
        return Evidence(Change.APPLIED, done, _words(done), final=True)
    if done:
        words = _words(done) + (f"; {_moved_words(moved)}" if moved else "")
        return Evidence(Change.PARTLY, done, words, moved_on=moved, final=final)
    if final:
        return Evidence(Change.MOVED_ON, [], _moved_words(moved), moved_on=moved, final=True)
    if now.cancel_pending and not before.cancel_pending:
        return Evidence(Change.PENDING, [], "the provider shows the cancellation in progress")
    if not asked and now.cancelled:
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
    still = Counter(
        _content(ln) for ln in now.lines if ln.cancellable and not _is_cancelled(ln)
    )
    done: list[CancelledLine] = []
    moved: list[NotCancelledLine] = []
    fully = 0
    for key, asked in wanted.items():
        gone = min(was_open[key] - is_open[key], asked)
        fully += gone
        now_cancelled = [ln for ln in now.lines if _content(ln) == key and _is_cancelled(ln)]
        for line in now_cancelled[-gone:] if gone else []:
            done.append(CancelledLine(id=line.id, status=line.status, quantity=line.quantity))
        left = max(0, asked - gone - still[key])  # neither cancelled nor cancellable now
        stuck = [
            ln for ln in now.lines
            if _content(ln) == key and not ln.cancellable and not _is_cancelled(ln)
        ]
        for line in stuck[:left]:
            moved.append(
                NotCancelledLine(
                    id=line.id, status=line.status, reason=line.not_cancellable_reason or ""
                )
            )
    return _reading(sum(wanted.values()), fully, done, moved, before, now)


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
