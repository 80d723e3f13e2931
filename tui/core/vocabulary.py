"""Stopline's words, said once: outcomes, look-up states, why a cancel was not sent, what ``r``
does, and the tone each is shown in.

Plain ``StrEnum``\\ s with no dependency at all, so the console's first frame can use them
without loading pydantic or httpx (a test imports the first frame's modules in a subprocess
to keep it so). :mod:`tui.core.domain` and :mod:`tui.core.lifecycle` re-export them.
"""

from __future__ import annotations

from enum import StrEnum


class Tone(StrEnum):
    """How a word is coloured; each theme maps tones to its colours (:mod:`tui.themes`)."""

    GOOD = "good"
    WARN = "warn"
    BAD = "bad"
    INFO = "info"
    MUTED = "muted"


class ProviderKey(StrEnum):
    """The four built-in order systems. Code that works on any provider iterates over the
    registry (:mod:`tui.core.providers.registry`) instead: a fifth one is registered there."""

    PATTERN = "pattern"
    ORDERMESH = "ordermesh"
    SHOPLAZZA = "shoplazza"
    RXUNIVERSE = "rxuniverse"


BUILTIN_PROVIDERS: tuple[str, ...] = tuple(ProviderKey)
"""The built-in providers' keys, in display order."""


class Outcome(StrEnum):
    """The normalised result of one cancel attempt."""

    COMPLETE = "complete"
    """Everything asked for was cancelled (or, for an async provider, initiated)."""
    PARTIAL = "partial"
    """Some lines were cancelled, others could not be."""
    REFUSED = "refused"
    """The provider answered and cancelled nothing (state does not allow it)."""
    NOT_FOUND = "not_found"
    UNKNOWN = "unknown"
    """The request may have taken effect: it was sent and no answer came back."""
    ERROR = "error"
    """The request provably did not take effect (rejected, auth failure, provider down)."""

    @property
    def settled(self) -> bool:
        """True when the provider's answer is final and re-sending would be pointless."""
        return self is not Outcome.UNKNOWN

    @property
    def label(self) -> str:
        """In running text: ``not found``."""
        return self.value.replace("_", " ")

    @property
    def words(self) -> str:
        """As a badge: ``NOT FOUND``."""
        return self.label.upper()

    @property
    def tone(self) -> Tone:
        return _OUTCOME_TONE[self]


_OUTCOME_TONE = {
    Outcome.COMPLETE: Tone.GOOD,
    Outcome.PARTIAL: Tone.WARN,
    Outcome.REFUSED: Tone.BAD,
    Outcome.NOT_FOUND: Tone.WARN,
    Outcome.UNKNOWN: Tone.WARN,
    Outcome.ERROR: Tone.BAD,
}


class _RowStatusWords(StrEnum):
    """The words and tones of :data:`RowStatus` (an enum without members, to extend)."""

    @classmethod
    def of(cls, outcome: Outcome) -> RowStatus:
        return RowStatus(outcome.value)

    @property
    def label(self) -> str:
        if self.value == "already_cancelled":
            return "cancelled already"
        return self.value.replace("_", " ")

    @property
    def words(self) -> str:
        return "CANCELLED" if self.value == "already_cancelled" else self.label.upper()

    @property
    def tone(self) -> Tone:
        if self.value == "held":
            return Tone.WARN
        if self.value == "already_cancelled":
            return Tone.MUTED
        return Outcome(self.value).tone


RowStatus = _RowStatusWords(
    "RowStatus",
    [
        *((outcome.name, outcome.value) for outcome in Outcome),
        ("HELD", "held"),
        ("ALREADY_CANCELLED", "already_cancelled"),
    ],
)
"""What became of one row of a batch: its outcome, or no request at all because another
attempt holds the order (``HELD``) or it is cancelled already (``ALREADY_CANCELLED``)."""


class LookupState(StrEnum):
    WAITING = "waiting"
    FOUND = "found"
    NOT_FOUND = "not_found"
    ERROR = "error"
    SKIPPED = "skipped"
    """The provider cannot resolve an identifier of this form."""

    @property
    def label(self) -> str:
        """In running text: ``not found``."""
        return self.value.replace("_", " ")

    @property
    def mark(self) -> str:
        """``✔ found``: the label behind its sign, as the status strip shows it."""
        return f"{_LOOKUP_SIGN[self]} {self.label}"

    @property
    def tone(self) -> Tone | None:
        return _LOOKUP_TONE[self]


_LOOKUP_SIGN = {
    LookupState.WAITING: "…",
    LookupState.FOUND: "✔",
    LookupState.NOT_FOUND: "✘",
    LookupState.ERROR: "⚠",
    LookupState.SKIPPED: "-",
}
_LOOKUP_TONE: dict[LookupState, Tone | None] = {
    LookupState.WAITING: Tone.MUTED,
    LookupState.FOUND: Tone.GOOD,
    LookupState.NOT_FOUND: None,
    LookupState.ERROR: Tone.BAD,
    LookupState.SKIPPED: Tone.MUTED,
}


class LineState(StrEnum):
    """What is true of one line (a warehouse order, an item) of an order, in the words every
    pane uses: the Lines pane before a cancel, the outcome panel after it, the command line."""

    CANCELLABLE = "cancellable"
    """The look-up shows it can still be cancelled."""
    NOT_CANCELLABLE = "not cancellable"
    """The look-up shows it cannot (its reason beside it)."""
    CANCELLED = "cancelled"
    """Cancelled: by this cancel's answer, or already, as the look-up shows."""
    INITIATED = "initiated"
    """Asked and accepted, not yet shown cancelled by a look-up (an asynchronous provider)."""
    NOT_CANCELLED = "not cancelled"
    """The cancel's answer names it as not cancelled (its reason beside it)."""

    @property
    def mark(self) -> str:
        """``✔ cancelled``: the word behind its sign."""
        return f"{_LINE_SIGN[self]} {self.value}"

    @property
    def tone(self) -> Tone | None:
        return _LINE_TONE[self]


_LINE_SIGN = {
    LineState.CANCELLABLE: "○",
    LineState.NOT_CANCELLABLE: "-",
    LineState.CANCELLED: "✔",
    LineState.INITIATED: "…",
    LineState.NOT_CANCELLED: "✘",
}
_LINE_TONE: dict[LineState, Tone | None] = {
    LineState.CANCELLABLE: None,
    LineState.NOT_CANCELLABLE: Tone.MUTED,
    LineState.CANCELLED: Tone.GOOD,
    LineState.INITIATED: Tone.INFO,
    LineState.NOT_CANCELLED: Tone.BAD,
}


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 order``, ``3 orders``, ``1,200 lines`` (or ``words`` when the plural is not just
    an s): never ``order(s)``."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


class Why(StrEnum):
    """Why a cancel was not sent."""

    HELD = "held"
    """Another attempt on the order is in flight (its process is alive)."""
    EARLIER_UNKNOWN = "earlier_unknown"
    """An earlier attempt may still take effect; it stays unknown until reconciled."""
    EARLIER_APPLIED = "earlier_applied"
    """Reconciling an earlier unknown attempt showed it took effect."""
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    """An earlier asynchronous cancel was initiated and is not yet confirmed."""
    SETTLED_EARLIER = "settled_earlier"
    """A batch run again: the same request settled earlier."""
    ALREADY_CANCELLED = "already_cancelled"
    """The look-up shows the order cancelled already."""
    NOT_FOUND = "not_found"
    """The look-up did not find the order."""
    LOOKUP_FAILED = "lookup_failed"
    """The order could not be looked up, so nothing could be recorded before sending."""
    INVALID = "invalid"
    """The request does not fit the order as the look-up shows it (an item it does not
    have, more than is left). Raised as ``InvalidInput``; a batch reports it so."""

    @property
    def holding(self) -> bool:
        """Another attempt holds the order (the CLI's exit 7)."""
        return self in (Why.HELD, Why.EARLIER_UNKNOWN, Why.AWAITING_CONFIRMATION)


class NextStep(StrEnum):
    """What ``r`` does after a cancel ended."""

    NONE = "none"
    RECHECK = "recheck"
    """Look the order up again (unknown, or initiated and unconfirmed): never a re-send."""
    RETRY = "retry"
    """It provably did not apply (or could not be looked up): it may be sent again."""


class Verdict(StrEnum):
    """What reconciling an open attempt found."""

    SETTLED = "settled"
    """It was settled already (nothing to do)."""
    APPLIED = "applied"
    """The look-up shows it took effect (or is being applied): settled, claim released."""
    NOT_APPLIED = "not_applied"
    """Untouched after its window: closed as ``error``; the order may be sent again."""
    IN_FLIGHT = "in_flight"
    """Its process is still sending it; nothing was looked at."""
    UNKNOWN = "unknown"
    """Still undecided: untouched so far inside its window, or the look-up failed."""

    @property
    def ended(self) -> bool:
        """The attempt no longer holds its order (the order is worth looking at again)."""
        return self in (Verdict.APPLIED, Verdict.NOT_APPLIED)


ENVIRONMENT_TONE: dict[str, Tone] = {
    "sandbox": Tone.INFO,
    "staging": Tone.WARN,
    "production": Tone.BAD,
    "other": Tone.WARN,
}
"""How each provider environment is badged (production in the loudest colour)."""
