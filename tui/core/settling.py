"""How a look-up settles an outcome, and how a request's items are fitted to the order: the
pure rules under the lifecycle (no I/O here)."""

from __future__ import annotations

from datetime import datetime

from tui.core.domain import CancelOutcome, CancelRequest, ItemSelection, Order, Outcome
from tui.core.evidence import Change, Evidence
from tui.core.identifiers import InvalidInput

RECHECK_PREFIX = "re-check: "
"""Warnings a re-check adds start so; each re-check replaces the previous one."""


def clock_text(moment: datetime) -> str:
    return moment.astimezone().strftime("%H:%M:%S")


def with_recheck_note(outcome: CancelOutcome, note: str) -> CancelOutcome:
    """``outcome`` with ``note`` as its one re-check warning (the previous one replaced)."""
    kept = [w for w in outcome.warnings if not w.startswith(RECHECK_PREFIX)]
    return outcome.model_copy(update={"warnings": [*kept, RECHECK_PREFIX + note]})


def settle_outcome(
    outcome: CancelOutcome,
    evidence: Evidence,
    *,
    window_over: bool,
    window_end: datetime | None = None,
) -> CancelOutcome:
    """``outcome`` (unknown, or initiated and unconfirmed) settled by ``evidence``."""
    if outcome.outcome is Outcome.UNKNOWN:
        if evidence.change is Change.APPLIED:
            applied = outcome.model_copy(
                update={
                    "outcome": Outcome.COMPLETE,
                    "confirmed": True,
                    "cancelled": evidence.cancelled,
                    "message": outcome.message or "applied (shown by a look-up)",
                }
            )
            return with_recheck_note(applied, f"the look-up shows it applied: {evidence.words}")
        if evidence.change is Change.PARTLY:
            return _partly(outcome, evidence)
        if evidence.change is Change.PENDING:
            return with_recheck_note(
                outcome.model_copy(update={"outcome": Outcome.COMPLETE, "confirmed": False}),
                "the look-up shows the cancellation in progress",
            )
        if evidence.change is Change.MOVED_ON:
            return _moved_on(outcome, evidence, window_over=window_over, window_end=window_end)
        if evidence.change is Change.UNTOUCHED and window_over:
            untouched = outcome.model_copy(
                update={
                    "outcome": Outcome.ERROR,
                    "confirmed": False,
                    "message": "not applied: after its window the look-up shows the order "
                    "untouched",
                }
            )
            return with_recheck_note(
                untouched, f"untouched after its window ({evidence.words}); it may be sent again"
            )
        if evidence.change is Change.UNTOUCHED:
            until = f" until {clock_text(window_end)}" if window_end is not None else ""
            return with_recheck_note(
                outcome, f"untouched so far; it may still take effect{until}"
            )
        return with_recheck_note(outcome, evidence.words)
    # Initiated (asynchronous) and not yet confirmed: confirmed by matching, not counting.
    if evidence.change is Change.APPLIED:
        return outcome.model_copy(update={"confirmed": True})
    if evidence.change is Change.PARTLY and evidence.final:
        # Some cancelled, the rest moved on: over, partly — once no line that moved on can
        # come back within the window (a "processing" sub-order may return to the queue).
        if not window_over:
            return with_recheck_note(outcome, f"partly applied so far ({evidence.words})")
        return _partly(outcome, evidence)
    if evidence.change is Change.PARTLY and len(evidence.cancelled) >= max(
        1, len(outcome.cancelled)
    ):
        return outcome.model_copy(update={"confirmed": True})
    if evidence.change is Change.MOVED_ON:
        return _moved_on(outcome, evidence, window_over=window_over, window_end=window_end)
    return with_recheck_note(outcome, f"not confirmed yet ({evidence.words})")


def _partly(outcome: CancelOutcome, evidence: Evidence) -> CancelOutcome:
    """Partly applied, as the look-up shows: what was cancelled, and what moved on."""
    partial = outcome.model_copy(
        update={
            "outcome": Outcome.PARTIAL,
            "confirmed": True,
            "cancelled": evidence.cancelled,
            "not_cancelled": evidence.moved_on or outcome.not_cancelled,
        }
    )
    return with_recheck_note(partial, f"the look-up shows it partly applied: {evidence.words}")


def _moved_on(
    outcome: CancelOutcome,
    evidence: Evidence,
    *,
    window_over: bool,
    window_end: datetime | None,
) -> CancelOutcome:
    """Nothing asked for was cancelled and every line of it moved on: not applied once the
    attempt's window is over (whatever the provider's "initiated" said), since a line may
    move back within it; until then the outcome stands, with a note."""
    if window_over:
        return _not_applied(outcome, evidence)
    until = f" until {clock_text(window_end)}" if window_end is not None else ""
    return with_recheck_note(
        outcome, f"nothing cancelled so far, and {evidence.words}; it may still apply{until}"
    )


def _not_applied(outcome: CancelOutcome, evidence: Evidence) -> CancelOutcome:
    """Nothing asked for was cancelled and none of it can be any more: not applied."""
    not_applied = outcome.model_copy(
        update={
            "outcome": Outcome.ERROR,
            "confirmed": False,
            "cancelled": [],
            "not_cancelled": evidence.moved_on,
            "message": f"not applied: the look-up shows nothing cancelled, and {evidence.words}",
        }
    )
    return with_recheck_note(not_applied, f"not applied ({evidence.words})")


def resolve_items(request: CancelRequest, order: Order) -> CancelRequest:
    """``request`` with every item's quantity filled in from ``order`` (None: all that is
    open), or :class:`InvalidInput` when an item is not on the order or has less left."""
    if not request.items:
        return request
    lines = {line.id: line for line in order.lines}
    resolved: list[ItemSelection] = []
    for item in request.items:
        line = lines.get(item.id)
        if line is None:
            known = ", ".join(sorted(lines)[:8]) or "none"
            raise InvalidInput(
                f"item {item.id} is not on {order.label} order {order.order_id} "
                f"(its items: {known}); nothing was sent"
            )
        left = line.quantity
        if left is not None and left <= 0:
            raise InvalidInput(f"item {item.id}: nothing left to cancel; nothing was sent")
        if item.quantity is not None and left is not None and item.quantity > left:
            raise InvalidInput(
                f"item {item.id}: {item.quantity} asked, only {left} left to cancel; "
                "nothing was sent"
            )
        resolved.append(ItemSelection(id=item.id, quantity=item.quantity or left))
    return request.model_copy(update={"items": tuple(resolved)})
