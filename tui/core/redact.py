"""Redaction by value: every secret a provider was given or issued is removed from its text.

Each provider's :class:`Redactor` (owned by its ``ProviderHttp``) holds the configured
credentials and every bearer token fetched. Text a provider returns — messages, warnings,
reasons, statuses — passes through it before anything shows, logs, exports or journals it,
whatever the shape the provider quoted the secret in (as is, percent-encoded, JSON-escaped).
Every value is also known process-wide, so the support log's filter blanks them too.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus

from pydantic import BaseModel, SecretStr

MASK = "***"
MIN_CHARS = 4
"""Shorter values are not secrets worth the name and would blank ordinary words."""

_Model = TypeVar("_Model", bound=BaseModel)


class Redactor:
    """A set of secret values and the text with them removed."""

    def __init__(self, secrets: Iterable[str | SecretStr | None] = (), *, shared: bool = True):
        self._values: set[str] = set()
        self._ordered: list[str] = []
        self._lock = threading.Lock()
        self._shared = shared
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | SecretStr | None) -> None:
        """Know one more secret (a configured credential, a token just issued)."""
        if secret is None:
            return
        value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        if len(value.strip()) < MIN_CHARS:
            return
        forms = {
            value,
            value.strip(),
            quote(value, safe=""),
            quote_plus(value, safe=""),
            json.dumps(value)[1:-1],
        }
        with self._lock:
            new = forms - self._values
            if not new:
                return
            self._values |= new
            self._ordered = sorted(self._values, key=len, reverse=True)
        if self._shared and self is not PROCESS:
            PROCESS.add(value)

    def __bool__(self) -> bool:
        return bool(self._ordered)

    def text(self, value: str) -> str:
        """``value`` with every known secret replaced by ``***`` — also the start of one
        that a length limit cut (``…abc…``)."""
        if not value or not self._ordered:
            return value
        for secret in self._ordered:
            if secret in value:
                value = value.replace(secret, MASK)
        if value.endswith("…"):
            head = value[:-1]
            for secret in self._ordered:
                for cut in range(len(secret) - 1, MIN_CHARS - 1, -1):
                    if head.endswith(secret[:cut]):
                        return head[: len(head) - cut] + MASK + "…"
        return value

    def optional(self, value: str | None) -> str | None:
        return None if value is None else self.text(value)

    def model(self, model: _Model) -> _Model:
        """A copy of ``model`` (an outcome, an order) with every text field redacted."""
        if not self._ordered:
            return model
        dumped = model.model_dump()
        if not self._touches(dumped):
            return model  # nothing to remove: the model as it is (no copy to validate)
        return type(model).model_validate(self._walk(dumped))

    def _touches(self, value: Any) -> bool:
        """Whether :meth:`text` could change any string in ``value``: a secret occurs in
        one, or one ends with ``…`` (a cut that may hide the start of a secret)."""
        texts: list[str] = []
        _strings(value, texts)
        if any(text.endswith("…") for text in texts):
            return True
        joined = "\x00".join(texts)
        return any(secret in joined for secret in self._ordered)

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self._walk(k): self._walk(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._walk(v) for v in value)
        return value


def _strings(value: Any, into: list[str]) -> None:
    """Every string in ``value`` (a dumped model), keys included."""
    if isinstance(value, str):
        into.append(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _strings(key, into)
            _strings(item, into)
    elif isinstance(value, list | tuple):
        for item in value:
            _strings(item, into)


PROCESS = Redactor(shared=False)
"""Every secret any provider of this process knows (for the support log's filter)."""
