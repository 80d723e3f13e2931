"""SandboxConfig and the compact fault and latency syntaxes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tui.sandbox import FaultRule, SandboxConfig, parse_fault_spec
from tui.sandbox.config import parse_latency_spec


def test_fault_spec_examples() -> None:
    rules = parse_fault_spec("pattern:timeout:cancel, shoplazza:error")
    assert rules == [
        FaultRule(provider="pattern", mode="timeout", operations=["cancel"]),
        FaultRule(provider="shoplazza", mode="error"),
    ]
    assert rules[1].operations == ["lookup", "cancel", "token"]


def test_config_parses_faults_for_the_cli() -> None:
    assert SandboxConfig.parse_faults("pattern:timeout:cancel") == parse_fault_spec(
        "pattern:timeout:cancel"
    )


def test_fault_spec_options() -> None:
    (rule,) = parse_fault_spec("ordermesh:reset:cancel+token:after:count=1:rate=0.5")
    assert (rule.operations, rule.when, rule.count, rule.rate) == (
        ["cancel", "token"],
        "after",
        1,
        0.5,
    )
    (latency,) = parse_fault_spec("*:latency:ms=300")
    assert (latency.provider, latency.latency_ms) == ("*", 300)
    (error,) = parse_fault_spec("rxuniverse:error:status=503")
    assert error.status == 503


@pytest.mark.parametrize(
    "spec",
    ["pattern", "amazon:error", "pattern:explode", "pattern:error:refund", "pattern:error:x=1"],
)
def test_bad_fault_specs_are_rejected(spec: str) -> None:
    with pytest.raises((ValueError, ValidationError)):
        parse_fault_spec(spec)


def test_latency_spec() -> None:
    assert parse_latency_spec("250") == dict.fromkeys(
        ("pattern", "ordermesh", "shoplazza", "rxuniverse"), 250
    )
    assert parse_latency_spec("pattern=100, shoplazza=40") == {"pattern": 100, "shoplazza": 40}
    with pytest.raises(ValueError):
        parse_latency_spec("pattern=fast")
    with pytest.raises(ValueError):
        parse_latency_spec("amazon=5")


def test_from_env_and_overrides() -> None:
    config = SandboxConfig.from_env(
        {
            "STOPLINE_SANDBOX_LATENCY_MS": "120",
            "STOPLINE_SANDBOX_ERROR_RATE": "0.25",
            "STOPLINE_SANDBOX_FAULTS": "pattern:timeout:cancel",
            "STOPLINE_SANDBOX_SEED": "99",
        },
        error_rate=0.5,
    )
    assert config.latency_ms["rxuniverse"] == 120
    assert config.error_rate == 0.5
    assert config.seed == 99
    assert [rule.mode for rule in config.faults] == ["timeout"]
    assert SandboxConfig.from_env({}) == SandboxConfig()


def test_defaults_follow_the_vendors() -> None:
    config = SandboxConfig()
    assert config.token_ttl_for("pattern") == 3600
    assert config.token_ttl_for("ordermesh") == 86400
    assert config.shoplazza_rate_per_s == 2.0
    assert config.pattern_cancel_delay_s == 1.5
    assert config.rx_reason_required is True
    assert SandboxConfig(latency_ms=50).latency_ms["pattern"] == 50
    with pytest.raises(ValidationError):
        SandboxConfig(error_rate=1.5)
