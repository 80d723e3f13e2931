"""Bearer tokens issued by the simulated token endpoints (Pattern Hub and OrderMesh)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable


class TokenStore:
    """Issues opaque tokens per provider, each valid for a fixed time, revocable all at once."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tokens: dict[str, tuple[str, float]] = {}

    def issue(self, provider: str, ttl_s: float) -> str:
        """A fresh token for `provider` that expires `ttl_s` seconds from now."""
        self._drop_expired()
        token = f"sbx_{provider[:2]}_{secrets.token_urlsafe(24)}"
        self._tokens[token] = (provider, self._clock() + ttl_s)
        return token

    def is_valid(self, provider: str, token: str | None) -> bool:
        """True if `token` was issued for `provider`, is not revoked and has not expired."""
        if not token:
            return False
        entry = self._tokens.get(token)
        if entry is None or entry[0] != provider:
            return False
        if self._clock() >= entry[1]:
            del self._tokens[token]
            return False
        return True

    def revoke_all(self) -> int:
        """Invalidate every issued token; returns how many were still alive."""
        self._drop_expired()
        count = len(self._tokens)
        self._tokens.clear()
        return count

    def _drop_expired(self) -> None:
        now = self._clock()
        expired = [token for token, (_, expires_at) in self._tokens.items() if now >= expires_at]
        for token in expired:
            del self._tokens[token]
