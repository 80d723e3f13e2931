"""Promise 5: least privilege. ``read_only`` (global or per provider, setting or flag) refuses
every cancel before anything is written or sent; every journal entry names its operator; each
provider's environment is explicit or derived from its URL, erring towards production."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.cli import exit_codes
from tui.cli.main import run
from tui.core.batch import BatchPlan, BatchRow, BatchRunner, BatchSummary
from tui.core.domain import CancelRequest
from tui.core.journal import SqliteStore
from tui.core.settings import ProviderSettings, load_settings
from tui.sandbox import SandboxServer

from .conftest import StackFactory
from .kit import OPEN_ORDER, REASON, TIMEOUT_S, RequestCounter, applied


@pytest.fixture
def cli_env(fresh: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    for name, value in fresh.settings_env().items():
        monkeypatch.setenv(name, value)
    for key in ("PATTERN", "ORDERMESH", "SHOPLAZZA", "RXUNIVERSE"):
        monkeypatch.setenv(f"STOPLINE_{key}__TIMEOUT_S", str(TIMEOUT_S))
    monkeypatch.setenv("STOPLINE_SHOPLAZZA__RATE_PER_S", "50")
    yield fresh


def journal_rows() -> list[object]:
    path = load_settings().journal_path()
    if not path.exists():
        return []
    with SqliteStore(path) as journal:
        return journal.attempts(limit=None)


@pytest.mark.parametrize(
    ("env", "flag"),
    [
        ({}, ["--read-only"]),
        ({"STOPLINE_READ_ONLY": "true"}, []),
        ({"STOPLINE_SHOPLAZZA__READ_ONLY": "1"}, []),
    ],
    ids=["flag", "setting", "per-provider-setting"],
)
def test_read_only_refuses_cancel_and_batch_before_anything_is_sent(
    cli_env: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    env: dict[str, str],
    flag: list[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cancels = RequestCounter(cli_env, operations=["cancel"])
    order = OPEN_ORDER["shoplazza"]

    code = run([*flag, "cancel", order, "-p", "shoplazza", "-r", REASON, "--yes"])
    _, err = capsys.readouterr()
    assert code == exit_codes.USAGE
    assert "read-only" in err and "nothing was sent" in err

    batch = tmp_path / "orders.txt"
    batch.write_text(f"{order}\n", encoding="utf-8")
    code = run([*flag, "batch", str(batch), "-p", "shoplazza", "-r", REASON, "--yes"])
    _, err = capsys.readouterr()
    assert code == exit_codes.USAGE
    assert "line 1: shoplazza is read-only" in err and "nothing was sent" in err

    # Looking up is still allowed.
    assert run([*flag, "lookup", order, "-p", "shoplazza"]) == exit_codes.OK
    capsys.readouterr()
    assert cancels.seen == 0
    assert not applied(cli_env, "shoplazza", order)
    assert journal_rows() == []

    # Read-only for one provider leaves the others alone.
    if not flag and "STOPLINE_READ_ONLY" not in env:
        other = OPEN_ORDER["ordermesh"]
        assert run(["cancel", other, "-p", "ordermesh", "-r", REASON, "--yes"]) == 0
        capsys.readouterr()
        assert applied(cli_env, "ordermesh", other) and cancels.seen == 1


async def test_batch_runner_preflight_refuses_read_only_rows(make_stack: StackFactory) -> None:
    stack = make_stack(pattern={"read_only": True})
    seen = RequestCounter(stack.server, operations=["cancel"])
    rows = [
        BatchRow(
            1, CancelRequest(provider="pattern", order_id=OPEN_ORDER["pattern"], reason=REASON)
        ),
        BatchRow(
            2, CancelRequest(provider="shoplazza", order_id=OPEN_ORDER["shoplazza"], reason=REASON)
        ),
    ]
    runner = BatchRunner(stack.service)
    plan = runner.preflight(BatchPlan(rows=rows))
    assert [e.line_no for e in plan.errors] == [1]
    assert "read-only" in plan.errors[0].message
    summary = await runner.run(plan.rows, summary=BatchSummary(keep_all=True))
    assert [r.row.line_no for r in summary.results] == [2]
    assert seen.seen == 1
    assert not applied(stack.server, "pattern", OPEN_ORDER["pattern"])


def test_every_journal_entry_names_its_operator(
    cli_env: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("STOPLINE_OPERATOR", "alice.ops")
    assert run(["cancel", OPEN_ORDER["shoplazza"], "-p", "shoplazza", "-r", REASON, "--yes"]) == 0
    batch = tmp_path / "orders.csv"
    batch.write_text(
        "provider,order_id\n"
        f"pattern,{OPEN_ORDER['pattern']}\n"
        f"rxuniverse,{OPEN_ORDER['rxuniverse']}\n"
        "ordermesh,670e58fe7741035996cf7d21\n",  # shipped: refused, still journalled
        encoding="utf-8",
    )
    assert run(["batch", str(batch), "-r", REASON, "--yes"]) == exit_codes.REFUSED
    monkeypatch.delenv("STOPLINE_OPERATOR")  # falls back to the OS login, never blank
    assert run(["cancel", OPEN_ORDER["ordermesh"], "-p", "ordermesh", "-r", REASON, "--yes"]) == 0
    capsys.readouterr()

    rows = journal_rows()
    assert len(rows) == 5
    operators = [row.operator for row in reversed(rows)]  # type: ignore[attr-defined]
    assert operators[:4] == ["alice.ops"] * 4
    assert operators[4].strip() and operators[4] != "alice.ops"
    assert run(["history", "--csv"]) == exit_codes.OK
    out, _ = capsys.readouterr()
    table = list(csv.reader(io.StringIO(out)))
    column = table[0].index("operator")
    assert [row[column] for row in table[1:]].count("alice.ops") == 4


@pytest.mark.parametrize(
    ("url", "environment"),
    [
        ("http://127.0.0.1:8787/pattern/hub", "sandbox"),
        ("http://127.8.9.10", "sandbox"),
        ("http://localhost:9000", "sandbox"),
        ("http://[::1]:8080/api", "sandbox"),
        ("https://stage-api.pattern.com/hub", "staging"),
        ("https://api.stg.ordermesh.io/", "staging"),
        ("https://api.dev.ordermesh.io/", "staging"),
        ("https://shop-test.myshoplaza.com", "staging"),
        ("https://api.pattern.com/hub", "production"),
        ("https://api.ordermesh.io/", "production"),
        ("http://labserver:4567", "production"),
        # Never mistaken for a sandbox or staging: a production host that only looks alike.
        ("https://localhost.example.com", "production"),
        ("https://127.0.0.1.nip.example", "production"),
        ("https://api.contest-shop.myshoplaza.com", "production"),
        ("https://latest.ordermesh.io", "production"),
        ("https://devices.ordermesh.io", "production"),
        ("https://user:pass@[::1", "production"),
    ],
)
def test_resolved_environment(url: str, environment: str) -> None:
    section = ProviderSettings.model_construct(base_url=url, environment=None)
    assert section.resolved_environment() == environment
    explicit = ProviderSettings.model_construct(base_url=url, environment="production")
    assert explicit.resolved_environment() == "production"
