"""What the journal holds about one cancel attempt, as read back, and who holds a claim.

An attempt moves through these states (:class:`AttemptState`)::

    claimed ──► sent ──► finished            (the provider answered, or no usable answer)
       │
       └──► withdrawn                         (nothing was sent: held, not found, bad items…)

While an attempt is **open** it holds the claim on its provider + order: no other attempt on
the same order may be written, so none can be sent. ``claimed`` and ``sent`` attempts are
open; a ``finished`` attempt stays open while its outcome is ``unknown`` (it may have been
applied) and is released once settled. The database enforces the claim (a unique index over
open attempts), not Python.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tui.core.domain import (
    CancelledLine,
    CancelOutcome,
    CancelRequest,
    ItemSelection,
    NotCancelledLine,
    Order,
    Outcome,
)
from tui.core.journal.fields import PUBLIC


class AttemptState(StrEnum):
    CLAIMED = "claimed"
    """The claim is taken; the order is being looked up. Nothing has been sent."""
    SENT = "sent"
    """Written ahead; the request is leaving or in flight (or its process died)."""
    FINISHED = "finished"
    """An outcome is recorded (the provider's answer, or a later re-check)."""
    WITHDRAWN = "withdrawn"
    """Released without sending anything (held, not found, nothing to cancel…)."""


OPEN_STATES: frozenset[AttemptState] = frozenset({AttemptState.CLAIMED, AttemptState.SENT})
"""States that always hold the claim; ``finished`` holds it only while ``unknown``."""


class Holder(BaseModel):
    """Who makes an attempt: the operator, and the process that sends it."""

    model_config = ConfigDict(frozen=True)

    operator: str
    host: str = ""
    pid: int | None = None
    pid_started: float | None = None
    """The process's start time (seconds since the epoch): a reused pid is not the holder."""


PUBLIC_FIELDS: tuple[str, ...] = PUBLIC
"""The keys of :meth:`Attempt.to_public`, in order (``stopline history --json``/``--csv``)."""


class Attempt(BaseModel):
    """One journalled cancel attempt as read back."""

    model_config = ConfigDict(frozen=True)

    id: int
    started_at: datetime
    """When the claim was taken."""
    sent_at: datetime | None = None
    """When the request was written ahead (it left right after); None if never sent."""
    finished_at: datetime | None = None
    """When the sending process recorded the answer; None if it never did."""
    updated_at: datetime | None = None
    """When a later confirmation or re-check last changed the outcome."""
    lease_until: datetime | None = None
    """Until when the attempt may still be in flight, or still take effect at the provider
    (its sending budget plus the provider's settle time, from ``sent_at``), on the journal's
    clock."""
    lease_live: bool | None = None
    """Not a column: whether the lease was still running when this row was read, as the
    journal's own clock says (the shared journal's server answers it, so no machine's clock
    decides). None where the reader compares ``lease_until`` itself."""
    operator: str
    """Who made the attempt: on the shared journal, the database role that wrote it."""
    display_name: str = ""
    """What STOPLINE_OPERATOR said (shown beside ``operator`` when it differs)."""
    host: str = ""
    pid: int | None = None
    pid_started: float | None = None
    provider: str
    order_id: str
    reason: str
    reason_code: str | None = None
    items: list[ItemSelection] = Field(default_factory=list)
    """Empty means the whole order."""
    state: AttemptState = AttemptState.SENT
    open: bool = False
    """True while this attempt holds the claim on its order."""
    outcome: Outcome = Outcome.UNKNOWN
    """Always ``unknown`` until ``state`` is ``finished``."""
    confirmed: bool = False
    http_status: int | None = None
    request_id: str | None = None
    cancelled: list[CancelledLine] = Field(default_factory=list)
    not_cancelled: list[NotCancelledLine] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    message: str = ""
    duration_ms: float | None = None
    before: Order | None = None
    """The order as a look-up showed it just before the request was sent."""
    version: int = 0
    """Grows with every write to any attempt of the journal (what changed since)."""
    origin: str | None = None
    """For an attempt imported from a local journal: where it came from."""

    @property
    def who(self) -> str:
        """The operator, with the display name beside it when that says more."""
        name = self.display_name.strip()
        if name and name != self.operator:
            return f"{self.operator} ({name})"
        return self.operator

    @model_validator(mode="before")
    @classmethod
    def _unfinished_is_unknown(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("state", AttemptState.SENT) != AttemptState.FINISHED:
            data = {**data, "outcome": Outcome.UNKNOWN, "confirmed": False}
        return data

    @field_validator("started_at", "sent_at", "finished_at", "updated_at", "lease_until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    @property
    def settled(self) -> bool:
        """False while the outcome is ``unknown``: reconcile before sending again."""
        return self.state is AttemptState.FINISHED and self.outcome.settled

    def lease_over(self, now: datetime) -> bool:
        """Whether the lease has run out: as the journal said when the row was read, else
        compared with ``now`` (the journal's time). No lease: over."""
        if self.lease_live is not None:
            return not self.lease_live
        return self.lease_until is None or now >= self.lease_until

    @property
    def holder(self) -> Holder:
        return Holder(
            operator=self.operator, host=self.host, pid=self.pid, pid_started=self.pid_started
        )

    def to_public(self) -> dict[str, Any]:
        """The documented ``stopline history --json`` shape (keys in :data:`PUBLIC_FIELDS`)."""
        dumped = self.model_dump(mode="json", include=set(PUBLIC_FIELDS))
        return {key: dumped[key] for key in PUBLIC_FIELDS}

    def as_request(self) -> CancelRequest:
        """The request this attempt sent (to reconcile it; never to re-send blindly)."""
        return CancelRequest(
            provider=self.provider,
            order_id=self.order_id,
            reason=self.reason,
            reason_code=self.reason_code,
            items=tuple(self.items),
            operator=self.operator,
        )

    def as_outcome(self) -> CancelOutcome:
        """The recorded outcome, carrying this attempt's id."""
        fields: dict[str, Any] = {}
        if self.finished_at is not None:
            fields["finished_at"] = self.finished_at
        return CancelOutcome(
            provider=self.provider,
            order_id=self.order_id,
            outcome=self.outcome,
            http_status=self.http_status,
            message=self.message,
            confirmed=self.confirmed,
            cancelled=list(self.cancelled),
            not_cancelled=list(self.not_cancelled),
            warnings=list(self.warnings),
            request_id=self.request_id,
            attempt_id=self.id,
            **fields,
        )


class Claim(BaseModel):
    """The answer to :meth:`~tui.core.journal.protocol.AttemptJournal.claim`."""

    model_config = ConfigDict(frozen=True)

    attempt_id: int | None = None
    """Ours, when the claim was taken."""
    holder: Attempt | None = None
    """The open attempt that holds the order, when it was not."""
    taken_over: Attempt | None = None
    """A claim whose process had died before sending anything, withdrawn to take this one."""
    earlier: Attempt | None = None
    """When the claim was taken: the latest attempt on the order that was sent before it
    (what ``latest_for(…, before_id=attempt_id)`` reads), read in the claim's own
    transaction — the lifecycle decides on it without another trip to the journal."""

    @property
    def taken(self) -> bool:
        return self.attempt_id is not None


class JournalError(Exception):
    """The journal cannot be opened or written; the message is safe to show as is."""


class UnknownAttempt(JournalError, LookupError):
    """No attempt has the id given."""


def utcnow() -> datetime:
    return datetime.now(UTC)
