"""``stopline history``: which journal, filters, JSON, CSV safety, and an empty journal."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest

from tui.cli import exit_codes
from tui.cli.main import run
from tui.core.domain import (
    CancelledLine,
    CancelOutcome,
    CancelRequest,
    ItemSelection,
    Order,
    Outcome,
)
from tui.core.holders import host_name
from tui.core.journal import Holder, SqliteStore
from tui.core.settings import load_settings

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(autouse=True)
def no_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """History reads a file: it must never start the demo sandbox."""

    def refuse(self: object) -> str:
        raise AssertionError("history started the sandbox")

    monkeypatch.setattr("tui.sandbox.SandboxServer.start", refuse)


def history(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(["history", *args])
    out, err = capsys.readouterr()
    return code, out, err


def demo_journal_path() -> Path:
    return load_settings().resolved_data_dir() / "demo" / "journal.sqlite3"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def gone(operator: str) -> Holder:
    """A holder whose process (on this host) has exited: its attempts are not in flight."""
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    started = psutil.Process(child.pid).create_time()
    assert child.stdin is not None
    child.stdin.close()
    child.wait(timeout=10)
    return Holder(operator=operator, host=host_name(), pid=child.pid, pid_started=started)


@pytest.fixture
def live_process() -> Iterator[psutil.Process]:
    """A process that stays alive for the test (a holder still sending)."""
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        yield psutil.Process(child.pid)
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=10)


def record(
    journal: SqliteStore,
    clock: Clock,
    age: timedelta,
    provider: str,
    order_id: str,
    outcome: Outcome | None,
    *,
    holder: Holder | None = None,
    lease: timedelta = timedelta(seconds=1),
    **fields: object,
) -> int:
    """An attempt claimed and sent ``age`` ago by ``holder`` (default: an exited process of
    the operator), its window ``lease`` after that; ``outcome`` None leaves it unanswered
    (``sent``)."""
    real_now = clock.now
    clock.now = datetime.now(UTC) - age
    items = fields.pop("items", ())
    request = CancelRequest(
        provider=provider,
        order_id=order_id,
        reason=str(fields.pop("reason", "stock-out")),
        items=items,  # type: ignore[arg-type]
        operator=str(fields.pop("operator", "ops-anna")),
    )
    holder = holder or gone(request.operator)
    claim = journal.claim(
        request, holder, lease_until=clock.now + lease, take_over=lambda _: False
    )
    attempt_id = claim.attempt_id
    assert attempt_id is not None, claim
    before = Order(provider=provider, order_id=order_id, status="open")
    journal.mark_sent(attempt_id, before, lease_until=clock.now + lease)
    if outcome is not None:
        journal.finish(
            attempt_id,
            CancelOutcome(provider=provider, order_id=order_id, outcome=outcome, **fields),  # type: ignore[arg-type]
            42.0,
        )
    clock.now = real_now
    return attempt_id


@pytest.fixture
def filled() -> dict[str, int]:
    """Five attempts in the demo journal (nothing is configured in the tests' environment)."""
    clock = Clock()
    with SqliteStore(demo_journal_path(), clock=clock) as journal:
        return {
            "old_pattern": record(
                journal, clock, timedelta(days=10), "pattern", "P-1", Outcome.COMPLETE,
                http_status=200, confirmed=True, cancelled=[CancelledLine(id="4100001")],
            ),
            "mesh_refused": record(
                journal, clock, timedelta(hours=3), "ordermesh", "O-1", Outcome.REFUSED,
                http_status=400, message="Order cannot be cancelled",
            ),
            "shop_sent": record(journal, clock, timedelta(hours=1), "shoplazza", "S-1", None),
            "pattern_error": record(
                journal, clock, timedelta(minutes=30), "pattern", "P-2", Outcome.ERROR,
                http_status=422, message="missing market_order_id",
            ),
            "pattern_unknown": record(
                journal, clock, timedelta(minutes=5), "pattern", "P-1", Outcome.UNKNOWN,
                message="no answer in time",
            ),
        }  # fmt: skip


def ids(out: str) -> list[int]:
    return [attempt["id"] for attempt in json.loads(out)]


def test_empty_journal_in_every_format_creates_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = history(capsys)
    assert code == exit_codes.OK
    assert out.strip() == "No attempts recorded."
    assert "DEMO journal" in err
    code, out, _ = history(capsys, "--json")
    assert (code, json.loads(out)) == (exit_codes.OK, [])
    code, out, _ = history(capsys, "--csv")
    assert code == exit_codes.OK
    assert list(csv.reader(io.StringIO(out))) == [list(CSV_HEADER)]
    code, out, _ = history(capsys, "--provider", "pattern")
    assert out.strip() == "No attempts recorded that match."
    assert not demo_journal_path().exists()
    assert not load_settings().journal_path().exists()


CSV_HEADER = (
    "id", "started_at", "sent_at", "finished_at", "updated_at", "operator", "display_name",
    "host", "pid",
    "provider", "order_id", "reason", "reason_code", "items", "state", "open", "standing",
    "outcome", "confirmed", "http_status", "request_id", "cancelled", "not_cancelled",
    "warnings", "message", "duration_ms",
)  # fmt: skip


def test_json_lists_attempts_newest_first_with_the_documented_fields(
    filled: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = history(capsys, "--json")
    assert code == exit_codes.OK
    attempts = json.loads(out)
    assert [a["id"] for a in attempts] == sorted(filled.values(), reverse=True)
    required = {
        "id", "started_at", "sent_at", "finished_at", "operator", "display_name", "host", "pid",
        "provider",
        "order_id", "reason", "items", "state", "open", "standing", "outcome", "http_status",
        "cancelled", "not_cancelled", "message",
    }  # fmt: skip
    assert all(required <= a.keys() for a in attempts)
    assert all("before" not in a and "lease_until" not in a for a in attempts)
    by_id = {a["id"]: a for a in attempts}
    sent = by_id[filled["shop_sent"]]
    assert (sent["outcome"], sent["state"], sent["finished_at"]) == ("unknown", "sent", None)
    assert (sent["open"], sent["standing"], sent["host"]) == (True, "open", host_name())
    assert isinstance(sent["pid"], int) and sent["sent_at"]
    old = by_id[filled["old_pattern"]]
    assert old["cancelled"] == [{"id": "4100001", "status": "cancelled", "quantity": None}]
    assert old["operator"] == "ops-anna"
    assert (old["open"], old["standing"]) == (False, "settled")
    unknown = by_id[filled["pattern_unknown"]]
    assert (unknown["state"], unknown["open"], unknown["standing"]) == ("finished", True, "open")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--provider", "pattern"], ["pattern_unknown", "pattern_error", "old_pattern"]),
        (["--provider", " Pattern "], ["pattern_unknown", "pattern_error", "old_pattern"]),
        (["--order", "P-1"], ["pattern_unknown", "old_pattern"]),
        (["--since", "2h"], ["pattern_unknown", "pattern_error", "shop_sent"]),
        (["--since", "90m", "--provider", "pattern"], ["pattern_unknown", "pattern_error"]),
        (["--outcome", "unknown"], ["pattern_unknown", "shop_sent"]),
        (["--outcome", "complete"], ["old_pattern"]),
        (["--outcome", "error", "--order", "P-1"], []),
        (["--limit", "2"], ["pattern_unknown", "pattern_error"]),
        (["-n", "1", "--provider", "ordermesh"], ["mesh_refused"]),
        (["--open"], ["pattern_unknown", "shop_sent"]),
        (["--open", "--provider", "shoplazza"], ["shop_sent"]),
        (["--open", "--outcome", "complete"], []),
    ],
)
def test_filters(
    args: list[str],
    expected: list[str],
    filled: dict[str, int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = history(capsys, "--json", *args)
    assert code == exit_codes.OK
    assert ids(out) == [filled[name] for name in expected]


def test_since_takes_a_date(filled: dict[str, int], capsys: pytest.CaptureFixture[str]) -> None:
    five_days_ago = (datetime.now().astimezone() - timedelta(days=5)).date().isoformat()
    _, out, _ = history(capsys, "--json", "--since", five_days_ago)
    assert filled["old_pattern"] not in ids(out)
    assert len(ids(out)) == 4


def test_human_table_shows_state_and_never_interprets_markup(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    clock = Clock()
    with SqliteStore(demo_journal_path(), clock=clock) as journal:
        record(journal, clock, timedelta(0), "pattern", "P-9", None)
        record(
            journal, clock, timedelta(0), "pattern", "P-[b]8[/b]", Outcome.REFUSED,
            message="[bold red]x[/] seal \x1b[31mRED\x1b[0m ding\x07", http_status=409,
        )  # fmt: skip
    code, out, _ = history(capsys)
    assert code == exit_codes.OK
    assert "P-[b]8[/b]" in out
    assert "[bold red]x[/] seal RED ding" in out
    assert "\x1b" not in out and "\x07" not in out
    assert "no answer recorded" in out
    assert "OPEN: holds the order until reconciled" in out
    assert "HTTP 409" in out


def test_csv_neutralises_formulas_in_every_cell(capsys: pytest.CaptureFixture[str]) -> None:
    clock = Clock()
    with SqliteStore(demo_journal_path(), clock=clock) as journal:
        record(
            journal, clock, timedelta(0), "ordermesh", "@SUM(A1:A9)", Outcome.PARTIAL,
            reason='=HYPERLINK("http://evil.example","open")',
            operator="=cmd|' /C calc'!A0",
            items=(ItemSelection(id="+ITEM", quantity=2),),
            message="-1+1 \x1b]8;;http://x\x07link",
            warnings=["@warn"],
            cancelled=[CancelledLine(id="=L1", quantity=1)],
            http_status=200,
        )  # fmt: skip
    code, out, _ = history(capsys, "--csv")
    assert code == exit_codes.OK
    header, row = list(csv.reader(io.StringIO(out)))
    assert header == list(CSV_HEADER)
    cells = dict(zip(header, row, strict=True))
    assert not any(cell.startswith(FORMULA_START) for cell in row)
    assert cells["order_id"] == "'@SUM(A1:A9)"
    assert cells["reason"] == '\'=HYPERLINK("http://evil.example","open")'
    assert cells["operator"].startswith("'=cmd")
    assert cells["items"] == "'+ITEM=2"
    assert cells["message"] == "'-1+1 link"
    assert cells["warnings"] == "'@warn"
    assert cells["cancelled"] == "'=L1=1"
    assert cells["outcome"] == "partial"
    assert (cells["standing"], cells["state"]) == ("settled", "finished")


def test_configured_providers_read_the_real_journal_and_demo_the_demo_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOPLINE_SHOPLAZZA__BASE_URL", "https://shop.example.com/openapi")
    monkeypatch.setenv("STOPLINE_SHOPLAZZA__ACCESS_TOKEN", "not-a-real-token")
    clock = Clock()
    with SqliteStore(load_settings().journal_path(), clock=clock) as journal:
        real = record(journal, clock, timedelta(0), "shoplazza", "1001", Outcome.COMPLETE)
    with SqliteStore(demo_journal_path(), clock=clock) as journal:
        record(journal, clock, timedelta(0), "pattern", "DEMO-1", Outcome.COMPLETE)
        demo = record(journal, clock, timedelta(0), "pattern", "DEMO-2", Outcome.COMPLETE)
    _, out, err = history(capsys, "--json")
    assert ids(out) == [real]
    assert "DEMO" not in err
    code = run(["--demo", "history", "--json"])
    out, _ = capsys.readouterr()
    assert code == exit_codes.OK
    assert ids(out)[0] == demo


def test_open_shows_who_holds_each_order_and_whether_it_is_still_in_flight(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    live_process: psutil.Process,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    clock = Clock()
    sending = Holder(
        operator="ops-bea",
        host=host_name(),
        pid=live_process.pid,
        pid_started=live_process.create_time(),
    )
    elsewhere = Holder(operator="ops-carl", host="packing-station-2", pid=77)
    with SqliteStore(demo_journal_path(), clock=clock) as journal:
        settled = record(journal, clock, timedelta(minutes=9), "pattern", "P-1", Outcome.COMPLETE)
        dead = record(journal, clock, timedelta(minutes=8), "pattern", "P-2", None)
        live = record(journal, clock, timedelta(minutes=7), "pattern", "P-3", None, holder=sending)
        remote = record(
            journal, clock, timedelta(minutes=1), "ordermesh", "O-4", None,
            holder=elsewhere, lease=timedelta(hours=1),
        )  # fmt: skip
        expired = record(
            journal, clock, timedelta(minutes=6), "ordermesh", "O-5", None,
            holder=elsewhere, lease=timedelta(minutes=1),
        )  # fmt: skip

    code, out, _ = history(capsys, "--open", "--json")
    assert code == exit_codes.OK
    rows = {a["id"]: a for a in json.loads(out)}
    assert settled not in rows
    assert {i: (rows[i]["standing"], rows[i]["operator"], rows[i]["host"]) for i in rows} == {
        dead: ("open", "ops-anna", host_name()),
        live: ("in flight", "ops-bea", host_name()),
        remote: ("in flight", "ops-carl", "packing-station-2"),
        expired: ("open", "ops-carl", "packing-station-2"),
    }
    assert rows[live]["pid"] == live_process.pid

    code, out, _ = history(capsys, "--open")
    assert code == exit_codes.OK
    assert f"IN FLIGHT on {host_name()} (pid {live_process.pid})" in out
    assert "IN FLIGHT on packing-station-2 (pid 77)" in out
    assert out.count("OPEN: holds the order until reconciled") == 2
    assert "P-1" not in out

    code, out, _ = history(capsys, "--open", "--csv")
    header, *lines = list(csv.reader(io.StringIO(out)))
    cells = [dict(zip(header, line, strict=True)) for line in lines]
    assert {(c["order_id"], c["standing"], c["operator"], c["host"]) for c in cells} == {
        ("P-2", "open", "ops-anna", host_name()),
        ("P-3", "in flight", "ops-bea", host_name()),
        ("O-4", "in flight", "ops-carl", "packing-station-2"),
        ("O-5", "open", "ops-carl", "packing-station-2"),
    }
    # Yes/no like ``confirmed``, for a spreadsheet.
    assert {c["open"] for c in cells} == {"yes"}


def test_open_with_nothing_open_says_so(
    filled: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = history(capsys, "--open", "--provider", "ordermesh")
    assert code == exit_codes.OK
    assert out.strip() == "No attempts recorded that match."


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--limit", "0"], "--limit must be between 1"),
        (["--since", "yesterday"], "cannot read --since 'yesterday'"),
        (["--provider", "amazon"], "unknown provider 'amazon'"),
        (["--order", "bad\x1b[2J"], "control characters"),
        (["--outcome", "cancelled"], "invalid choice"),
        (["--json", "--csv"], "not allowed with"),
    ],
)
def test_bad_usage_exits_2(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = history(capsys, *args)
    assert code == exit_codes.USAGE
    assert needle in err
    assert out == ""
