"""The order model as Stopline sees it, whichever system the order lives in.

Every adapter translates its provider's wire format into these types and nothing else
crosses into the service or the UI. Text fields hold provider text as received (already
stripped of control characters by the adapter); render them with :mod:`tui.core.text`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from tui.core.providers import registry
from tui.core.vocabulary import LineState, LookupState, Outcome


class Line(BaseModel):
    """One cancellable unit of an order: a warehouse order (Pattern) or an item."""

    model_config = ConfigDict(frozen=True)

    id: str
    sku: str | None = None
    description: str | None = None
    quantity: int | None = None
    """Quantity still open (not cancelled), where the provider counts quantities."""
    status: str = ""
    cancellable: bool = False
    not_cancellable_reason: str | None = None

    @property
    def state(self) -> LineState:
        """In the words every pane uses: cancellable, cancelled (as the provider's status
        says), or not cancellable."""
        if self.cancellable:
            return LineState.CANCELLABLE
        if self.status.strip().casefold() in _CANCELLED_WORDS:
            return LineState.CANCELLED
        return LineState.NOT_CANCELLABLE


_CANCELLED_WORDS = frozenset({"cancelled", "canceled"})


class Order(BaseModel):
    """An order found in one provider."""

    model_config = ConfigDict(frozen=True)

    provider: str
    order_id: str
    """The identifier the provider's cancel call takes."""
    found_by: str = ""
    """Which identifier kind matched the search (e.g. ``market_order_id``, ``tray``)."""
    identifiers: dict[str, str] = Field(default_factory=dict)
    """Every identifier the order is known by, kind → value (order number, tray, PO…)."""
    status: str = ""
    lines: tuple[Line, ...] = ()
    cancellable: bool = True
    """Whether the order as a whole can still be cancelled, as far as the look-up shows."""
    not_cancellable_reason: str | None = None
    cancel_pending: bool = False
    """The provider shows a cancellation in progress (initiated, not yet confirmed)."""
    cancelled: bool = False
    line_ids_positional: bool = False
    """The lines' ids are only their places in the look-up's answer (Pattern's status look-up
    carries no sub-order id, and its documentation promises no order): two look-ups are
    compared by the lines' contents, never place by place."""

    @property
    def cancellable_count(self) -> int:
        if not self.lines:
            return 1 if self.cancellable else 0
        return sum(1 for line in self.lines if line.cancellable)

    @property
    def can_cancel(self) -> bool:
        """Whether a cancel could still do anything, as far as the look-up shows: the order
        is not cancelled already, cancellable as a whole and, with lines, has a line left
        that can be cancelled. Front ends offer a cancel only then."""
        return not self.cancelled and self.cancellable and self.cancellable_count > 0

    @property
    def why_not_cancellable(self) -> str:
        """Why :attr:`can_cancel` is false, in words (empty when it is true)."""
        if self.can_cancel:
            return ""
        if self.cancelled:
            return "it is cancelled already"
        if not self.cancellable:
            return self.not_cancellable_reason or "the provider shows it cannot be cancelled"
        return "none of its lines can be cancelled"

    @property
    def label(self) -> str:
        return registry.label(self.provider)


class ItemSelection(BaseModel):
    """A line picked for cancellation; ``quantity`` None means all that is open."""

    model_config = ConfigDict(frozen=True)

    id: str
    quantity: int | None = Field(default=None, ge=1)


class CancelRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    provider: str
    order_id: str
    reason: str
    reason_code: str | None = None
    items: tuple[ItemSelection, ...] = ()
    """Empty means the whole order."""
    operator: str = ""


class CancelledLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    status: str = "cancelled"
    quantity: int | None = None


class NotCancelledLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    status: str = ""
    reason: str = ""


class CancelOutcome(BaseModel):
    """What happened to one cancel request, normalised across providers.

    ``confirmed`` is False when the provider only *initiated* the cancellation (Pattern)
    or when the outcome is unknown; the service's confirmation step turns it True once a
    look-up shows the lines cancelled.
    """

    provider: str
    order_id: str
    outcome: Outcome
    http_status: int | None = None
    message: str = ""
    confirmed: bool = False
    cancelled: list[CancelledLine] = Field(default_factory=list)
    not_cancelled: list[NotCancelledLine] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    request_id: str | None = None
    attempt_id: int | None = None
    """The journal entry this outcome belongs to, when journalled."""
    finished_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    def to_public(self) -> dict[str, object]:
        """The documented ``--json`` shape."""
        return self.model_dump(
            mode="json",
            include={
                "provider",
                "order_id",
                "outcome",
                "http_status",
                "message",
                "confirmed",
                "cancelled",
                "not_cancelled",
                "warnings",
                "request_id",
            },
        )


class LookupResult(BaseModel):
    """One provider's answer to a fan-out look-up."""

    provider: str
    identifier: str
    state: LookupState
    orders: list[Order] = Field(default_factory=list)
    error: str | None = None
    why_skipped: str | None = None
    """For ``skipped``: why the identifier's shape does not fit this provider."""
    elapsed_ms: float = 0.0


__all__ = [
    "CancelOutcome",
    "CancelRequest",
    "CancelledLine",
    "ItemSelection",
    "Line",
    "LookupResult",
    "LookupState",
    "NotCancelledLine",
    "Order",
    "Outcome",
]
