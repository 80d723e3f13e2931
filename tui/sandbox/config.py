"""Configuration of the sandbox: seed, latency, faults, provider quirks and demo credentials.

Everything here is plain data so the CLI (`stopline sandbox --faults ...`), the TUI's demo mode and
the tests can build a `SandboxConfig` without starting anything. Environment variables understood
by `SandboxConfig.from_env`:

- `STOPLINE_SANDBOX_LATENCY_MS`: `250` (every provider) or `pattern=250,shoplazza=40`.
- `STOPLINE_SANDBOX_ERROR_RATE`: probability 0..1 that any provider call answers 500/502/503.
- `STOPLINE_SANDBOX_FAULTS`: fault rules, see `parse_fault_spec`.
- `STOPLINE_SANDBOX_SEED`: seed of the generated demo data.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

ProviderKey = Literal["pattern", "ordermesh", "shoplazza", "rxuniverse"]
FaultProvider = Literal["pattern", "ordermesh", "shoplazza", "rxuniverse", "*"]
FaultMode = Literal[
    "latency",
    "error",
    "timeout",
    "malformed_json",
    "html_error",
    "reset",
    "unauthorized",
    "rate_limit",
]
Operation = Literal["lookup", "cancel", "token"]

PROVIDERS: tuple[str, ...] = get_args(ProviderKey)
FAULT_MODES: tuple[str, ...] = get_args(FaultMode)
OPERATIONS: tuple[str, ...] = get_args(Operation)

DEMO_CREDENTIALS: dict[str, dict[str, str]] = {
    "pattern": {"client_id": "demo-pattern", "client_secret": "demo-pattern-secret"},
    "ordermesh": {"client_id": "demo-ordermesh", "client_secret": "demo-ordermesh-secret"},
    "shoplazza": {"access_token": "demo-shoplazza-token"},
}
"""Credentials the sandbox accepts. Rx-Universe needs none unless `SandboxConfig.rx_api_key`."""

DEFAULT_TOKEN_TTL_S: dict[str, float] = {"pattern": 3600.0, "ordermesh": 86400.0}
"""Lifetime of issued bearer tokens: Pattern documents 3600 s, OrderMesh "valid for 24 hours"."""


class DeleteReason(BaseModel):
    """One Rx-Universe delete reason code (the lab configures its own list)."""

    model_config = ConfigDict(frozen=True)

    code: str
    description: str


DEFAULT_DELETE_REASONS: tuple[DeleteReason, ...] = (
    DeleteReason(code="1", description="Customer request"),
    DeleteReason(code="2", description="Duplicate order"),
    DeleteReason(code="3", description="Wrong prescription"),
    DeleteReason(code="4", description="Frame out of stock"),
    DeleteReason(code="5", description="Lens out of stock"),
    DeleteReason(code="9", description="Other"),
)


class FaultRule(BaseModel):
    """One way for the sandbox to misbehave, matched per provider and operation.

    `when="after"` lets the call take effect first (the cancel really happens) and then
    misbehaves: that is how a client meets an *unknown* outcome.
    """

    model_config = ConfigDict(extra="forbid")

    provider: FaultProvider = "*"
    """Which provider the rule applies to; `*` means all four."""
    mode: FaultMode
    """What goes wrong: added latency, a 5xx, no answer, broken JSON, a proxy's HTML page,
    a connection reset mid-response, a 401 or a 429."""
    operations: list[Operation] = Field(default_factory=lambda: list(OPERATIONS))
    """Which calls the rule hits: look-ups, cancels, token requests."""
    count: int | None = Field(default=None, ge=1)
    """How many times the rule fires before it disappears; `None` = until cleared."""
    latency_ms: int = Field(default=1000, ge=0, le=600_000)
    """Delay added by a `latency` rule."""
    status: Literal[500, 502, 503] | None = None
    """Status for `error` (default: 500/502/503 at random) and `html_error` (default 502)."""
    rate: float = Field(default=1.0, ge=0.0, le=1.0)
    """Probability that a matching call triggers the rule."""
    when: Literal["before", "after"] = "before"
    """`before`: misbehave instead of handling the call; `after`: handle it, then misbehave."""

    @field_validator("operations")
    @classmethod
    def _operations_not_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("operations must name at least one of lookup, cancel, token")
        return value

    def matches(self, provider: str, operation: str) -> bool:
        """True when this rule applies to a call of `operation` on `provider`."""
        return self.provider in ("*", provider) and operation in self.operations


SIMULATORS: tuple[str, ...] = (
    "tui.sandbox.providers.pattern",
    "tui.sandbox.providers.ordermesh",
    "tui.sandbox.providers.shoplazza",
    "tui.sandbox.providers.rxuniverse",
)
"""The built-in simulators (``tui.sandbox.providers.BUILTIN`` names the same)."""


class SandboxConfig(BaseModel):
    """Everything that shapes one sandbox run. Defaults mirror the real systems where known."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 20261123
    """Seed of the generated demo data: the same seed always yields the same orders."""
    latency_ms: dict[ProviderKey, int] = Field(default_factory=dict)
    """Latency added to every call of a provider; an int applies to all four."""
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    """Probability that any provider call answers 500, 502 or 503 instead."""
    pattern_cancel_delay_s: float = Field(default=1.5, ge=0.0)
    """Pattern cancels are asynchronous: warehouse orders show `cancelled` this much later."""
    token_ttl_s: float | None = Field(default=None, gt=0.0)
    """Lifetime of issued tokens for both Pattern and OrderMesh; `None` = their documented
    3600 s and 86400 s."""
    shoplazza_rate_per_s: float | None = Field(default=2.0, gt=0.0)
    """Shoplazza's leaky bucket drains this many requests per second per access token
    (documented: 2/s); `None` turns the limit off."""
    shoplazza_bucket_size: int = Field(default=4, ge=1)
    """Requests the bucket holds before answering 429. Unconfirmed: a guess allowing bursts."""
    rx_reason_required: bool = True
    """Rx-Universe setting "Orders1: Enter reason code when deleting order"."""
    rx_job_tracker_installed: bool = True
    """Without the Job Tracker module Rx-Universe refuses every cancel with 400."""
    rx_api_key: str | None = None
    """If set, Rx-Universe calls must carry it in `X-Api-Key` (Rx auth is unconfirmed)."""
    rx_delete_reasons: list[DeleteReason] = Field(
        default_factory=lambda: list(DEFAULT_DELETE_REASONS)
    )
    """Delete reason codes the lab has configured."""
    faults: list[FaultRule] = Field(default_factory=list)
    """Fault rules active from the start (more can be added through `/_sandbox/faults`)."""
    providers: list[str] = Field(default_factory=lambda: list(SIMULATORS))
    """The simulators to serve (modules of ``tui.sandbox.providers``): the four built in,
    or whatever the registered providers name."""
    extra_orders: dict[str, int] = Field(default_factory=dict)
    """Open orders added per provider on top of the demo data, each one cancellable as a whole
    (for load tests and benches, e.g. `{"pattern": 2000}`); `data.extra_order_ids` names them."""

    @field_validator("extra_orders")
    @classmethod
    def _extra_orders_in_range(cls, value: dict[str, int]) -> dict[str, int]:
        for provider, count in value.items():
            if not 0 <= count <= 1_000_000:
                raise ValueError(f"extra orders for {provider} must be 0..1000000, got {count}")
        return value

    @field_validator("latency_ms", mode="before")
    @classmethod
    def _latency_for_all(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return dict.fromkeys(PROVIDERS, value)
        return value

    @field_validator("latency_ms")
    @classmethod
    def _latency_not_negative(cls, value: dict[str, int]) -> dict[str, int]:
        for provider, ms in value.items():
            if ms < 0:
                raise ValueError(f"latency for {provider} must be >= 0, got {ms}")
        return value

    def token_ttl_for(self, provider: str) -> float:
        """Seconds an issued token of `provider` stays valid."""
        if self.token_ttl_s is not None:
            return self.token_ttl_s
        return DEFAULT_TOKEN_TTL_S[provider]

    @staticmethod
    def parse_faults(spec: str) -> list[FaultRule]:
        """Fault rules from the compact `--faults` syntax (see `parse_fault_spec`)."""
        return parse_fault_spec(spec)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> SandboxConfig:
        """Build a config from `STOPLINE_SANDBOX_*` variables; keyword overrides win."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        if seed := env.get("STOPLINE_SANDBOX_SEED", "").strip():
            values["seed"] = int(seed)
        if latency := env.get("STOPLINE_SANDBOX_LATENCY_MS", "").strip():
            values["latency_ms"] = parse_latency_spec(latency)
        if rate := env.get("STOPLINE_SANDBOX_ERROR_RATE", "").strip():
            values["error_rate"] = float(rate)
        if faults := env.get("STOPLINE_SANDBOX_FAULTS", "").strip():
            values["faults"] = parse_fault_spec(faults)
        values.update(overrides)
        return cls.model_validate(values)


def parse_latency_spec(spec: str) -> dict[str, int]:
    """Parse `250` (all providers) or `pattern=250,shoplazza=40` into milliseconds per provider."""
    spec = spec.strip()
    if "=" not in spec:
        return dict.fromkeys(PROVIDERS, _parse_int(spec, "latency"))
    latency: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in (*PROVIDERS, "*"):
            raise ValueError(f"bad latency entry {part!r}: expected PROVIDER=MS")
        ms = _parse_int(value, "latency")
        for provider in PROVIDERS if name == "*" else (name,):
            latency[provider] = ms
    return latency


def parse_fault_spec(spec: str) -> list[FaultRule]:
    """Parse the compact fault syntax used by `--faults` and `STOPLINE_SANDBOX_FAULTS`.

    Rules are separated by commas; each is `PROVIDER:MODE` followed by optional colon-separated
    parts in any order: operations joined by `+` (`cancel`, `lookup+token`), `before`/`after`, and
    `key=value` for `count`, `latency_ms` (alias `ms`), `status`, `rate`. Examples:
    `pattern:timeout:cancel`, `shoplazza:error`, `*:latency:ms=300`,
    `ordermesh:reset:cancel:after:count=1`.
    """
    rules: list[FaultRule] = []
    for chunk in filter(None, (c.strip() for c in spec.split(","))):
        parts = [p.strip() for p in chunk.split(":")]
        if len(parts) < 2:
            raise ValueError(f"bad fault {chunk!r}: expected PROVIDER:MODE[:...]")
        fields: dict[str, Any] = {"provider": parts[0], "mode": parts[1]}
        for part in filter(None, parts[2:]):
            if part in ("before", "after"):
                fields["when"] = part
            elif "=" in part:
                key, _, value = part.partition("=")
                key = {"ms": "latency_ms"}.get(key.strip(), key.strip())
                if key not in ("count", "latency_ms", "status", "rate"):
                    raise ValueError(f"bad fault option {part!r} in {chunk!r}")
                if key == "rate":
                    fields[key] = _parse_float(value, f"fault option {key}")
                else:
                    fields[key] = _parse_int(value, f"fault option {key}")
            else:
                operations = [op.strip() for op in part.replace("/", "+").split("+")]
                unknown = [op for op in operations if op not in OPERATIONS]
                if unknown:
                    raise ValueError(f"bad fault part {part!r} in {chunk!r}")
                fields["operations"] = operations
        rules.append(FaultRule.model_validate(fields))
    return rules


def _parse_float(text: str, what: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise ValueError(f"bad {what} value {text!r}: expected a number") from None


def _parse_int(text: str, what: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"bad {what} value {text!r}: expected an integer") from None
