"""The order systems Stopline knows, each declared once, in its own module.

A provider's module (``tui/core/providers/<key>.py``) holds its settings section, its adapter
and a :class:`ProviderSpec` named ``SPEC`` that says what the rest of Stopline needs to know:
its label and place in lists, its settings and which of their fields are secret or required,
its capabilities, how many requests a batch may keep in flight, how it takes cancel reasons,
which identifiers it can resolve, and the module of its simulator in the sandbox. Settings,
the log's redaction, batches, the cancel dialog, the command line and the console all iterate
over :func:`specs`.

Adding a fifth order system: its adapter module, its sandbox module, and one entry in
:data:`BUILTIN` — or, from another package, an entry point in the group
``stopline.providers`` naming its module.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.core.provider_settings import ProviderSettings

BUILTIN: tuple[str, ...] = (
    "tui.core.providers.pattern",
    "tui.core.providers.ordermesh",
    "tui.core.providers.shoplazza",
    "tui.core.providers.rxuniverse",
)
"""The built-in providers' modules, each with a ``SPEC``."""

ENTRY_POINT_GROUP = "stopline.providers"


@dataclass(frozen=True)
class ReasonRules:
    """How a provider takes a cancel reason: free text, or one of the codes it knows."""

    codes: dict[str, str] = field(default_factory=dict)
    """Code → description; empty: free text only."""
    required: bool = False
    """With codes: a cancel must name one of them (checked before sending)."""
    holder: str = "the provider"
    """Who the codes belong to, in messages ("this lab")."""

    def presets(self) -> list[tuple[str, str]]:
        """(label, code) of each code, for the dialog's list."""
        return [(f"{code} {description}", code) for code, description in self.codes.items()]

    def to_send(self, reason: str, code: str | None = None) -> str | None:
        """The reason code a request sends, checked against the codes when there are any:
        :class:`~tui.core.identifiers.InvalidInput` (nothing is sent) for a code the
        provider does not know, or no code where one is required. Without codes: the
        explicit code, if any (the provider decides)."""
        from tui.core.identifiers import InvalidInput

        if not self.codes:
            return code
        known = ", ".join(f"{c} {d}" for c, d in self.codes.items())
        if code is not None:
            found = self.code_for("", code)
            if found is None:
                raise InvalidInput(
                    f"reason code {code!r} is not one of {self.holder}'s codes ({known}); "
                    "nothing was sent"
                )
            return found
        found = self.code_for(reason)
        if found is None and self.required:
            raise InvalidInput(
                f"{self.holder} needs one of its reason codes ({known}); nothing was sent"
            )
        return found

    def code_for(self, reason: str, code: str | None = None) -> str | None:
        """The code a request names: an explicit code, or a reason that is a code or a
        code's description (case-insensitive)."""
        for candidate in (code, reason):
            if not candidate:
                continue
            text = candidate.strip()
            if text in self.codes:
                return text
            for known, description in self.codes.items():
                if description.lower() == text.lower():
                    return known
        return None


def free_text(section: Any) -> ReasonRules:
    return ReasonRules()


@dataclass(frozen=True)
class ProviderSpec:
    key: str
    """Its name in settings (``STOPLINE_<KEY>__…``), the journal and ``--provider``."""
    label: str
    """Its name for people."""
    settings: type[ProviderSettings]
    """Its settings section."""
    adapter: str
    """``module:Class`` of its adapter, imported when a service is built."""
    order: int = 100
    """Its place in every list of providers (lowest first)."""
    secrets: tuple[str, ...] = ()
    """Fields of its section that are secrets (blanked wherever text is shown or written)."""
    required: tuple[str, ...] = ()
    """Fields it needs once its ``base_url`` is set."""
    supports_item_cancel: bool = False
    """Items (with quantities) can be cancelled, not only whole orders."""
    cancel_is_async: bool = False
    """A successful cancel is only *initiated*; a later look-up confirms it."""
    identifier: str | None = None
    """A regular expression every identifier it can resolve matches (None: any)."""
    identifier_hint: str = ""
    """The identifiers it resolves, in words (why others are skipped)."""
    lines_note: str = ""
    """How its look-up names an order's lines, where that needs saying (shown with them)."""
    answer_note: str = ""
    """How its cancel answer names the lines, where that differs from the look-up."""
    max_in_flight: Callable[[Any, int], int] | None = None
    """Given its section and a batch's concurrency, how many of its cancels may be in flight
    at once (a provider that paces itself); None: the whole concurrency."""
    reasons: Callable[[Any], ReasonRules] = free_text
    """Given its section, how it takes a cancel reason."""
    sandbox: str | None = None
    """The module simulating it in the demo sandbox (:mod:`tui.sandbox.providers`)."""

    def can_resolve(self, identifier: str) -> bool:
        return self.identifier is None or re.fullmatch(self.identifier, identifier) is not None

    def adapter_class(self) -> type[Any]:
        module, _, name = self.adapter.partition(":")
        return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


_specs: dict[str, ProviderSpec] | None = None
_version = 0


def _load() -> dict[str, ProviderSpec]:
    global _specs
    if _specs is None:
        found: dict[str, ProviderSpec] = {}
        for module in BUILTIN:
            spec = importlib.import_module(module).SPEC
            found[spec.key] = spec
        # Imported here: importlib.metadata (and the email package it brings) costs the
        # console's first frame ~9 ms, and only the settings need the providers.
        from importlib.metadata import entry_points

        for point in entry_points(group=ENTRY_POINT_GROUP):
            spec = point.load()
            spec = getattr(spec, "SPEC", spec)
            found.setdefault(spec.key, spec)
        _specs = found
    return _specs


_ordered: tuple[int, tuple[ProviderSpec, ...]] | None = None
"""The providers in display order, and the registry version they were sorted at (every
provider check of every row of a batch asks for them)."""


def _in_order() -> tuple[ProviderSpec, ...]:
    global _ordered
    if _ordered is None or _ordered[0] != _version:
        found = _load()
        _ordered = (_version, tuple(sorted(found.values(), key=lambda s: (s.order, s.key))))
    return _ordered[1]


def specs() -> list[ProviderSpec]:
    """Every provider, in display order."""
    return list(_in_order())


def provider_keys() -> tuple[str, ...]:
    return tuple(spec.key for spec in _in_order())


def get(key: str) -> ProviderSpec:
    """The provider ``key`` names; :class:`KeyError` when none does."""
    return _load()[key]


def label(key: str) -> str:
    spec = _load().get(key)
    return spec.label if spec is not None else key


def labels() -> dict[str, str]:
    return {spec.key: spec.label for spec in specs()}


def register(spec: ProviderSpec) -> None:
    """Add (or replace) a provider at run time (tests, scripts); settings built afterwards
    have its section."""
    global _version
    _load()[spec.key] = spec
    _version += 1


def unregister(key: str) -> None:
    global _version
    _load().pop(key, None)
    _version += 1


def version() -> int:
    """Changes whenever the set of providers does (settings classes are built per version)."""
    return _version
