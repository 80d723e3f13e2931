"""``stopline batch`` in-process against the sandbox: exit codes, ``--json`` lines, asking."""

from __future__ import annotations

import asyncio
import io
import json
import re
from pathlib import Path

import pytest

from tui.cli import exit_codes
from tui.cli.main import run
from tui.core.domain import CancelRequest, Order
from tui.core.journal import SqliteStore
from tui.core.providers.factory import build_provider
from tui.core.settings import load_settings
from tui.sandbox import SandboxServer
from tui.sandbox.control import add_fault
from tui.sandbox.showcase import ORDERMESH_MULTI_ITEM

from .kit import cancel_calls, pattern_orders, unanswered, write

MISSING = "111-0000000-0000001"


def batch(capsys: pytest.CaptureFixture[str], file: Path, *extra: str) -> tuple[int, str, str]:
    code = run(["batch", str(file), "--provider", "pattern", "--reason", "stock-out", *extra])
    out, err = capsys.readouterr()
    return code, out, err


def attempts() -> int:
    path = load_settings().journal_path()
    if not path.exists():
        return 0
    with SqliteStore(path) as journal:
        return len(journal.attempts(limit=None))


@pytest.fixture
def kinds(sandbox: SandboxServer) -> dict[str, list[str]]:
    return {kind: pattern_orders(sandbox, kind) for kind in ("complete", "partial", "refused")}


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (["complete", "complete"], exit_codes.OK),
        (["complete", "not_found", "refused", "partial"], exit_codes.PARTIAL),
        (["not_found", "complete", "refused"], exit_codes.REFUSED),
        (["complete", "not_found"], exit_codes.NOT_FOUND),
    ],
)
def test_exit_code_is_the_worst_outcome_in_the_documented_order(
    rows: list[str],
    expected: int,
    sandbox: SandboxServer,
    kinds: dict[str, list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    used = {kind: iter(ids) for kind, ids in kinds.items()}
    lines = [MISSING if kind == "not_found" else next(used[kind]) for kind in rows]
    code, out, err = batch(capsys, write(tmp_path / "f.txt", lines), "--yes")
    assert code == expected, (out, err)
    assert f"{len(rows)} orders:" in out
    assert "Traceback" not in err
    # An order the look-up does not find is not sent at all.
    assert len(cancel_calls(sandbox)) == sum(kind != "not_found" for kind in rows)
    assert attempts() == sum(kind != "not_found" for kind in rows)


def test_a_failed_lookup_sends_nothing_and_is_an_error(
    sandbox: SandboxServer,
    kinds: dict[str, list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    add_fault(sandbox.root_url, provider="pattern", mode="error", status=500, operations=["lookup"])
    file = write(tmp_path / "f.txt", kinds["complete"][:2])
    code, out, err = batch(capsys, file, "--yes", "--json")
    *orders, last = [json.loads(line) for line in out.splitlines()]
    assert code == exit_codes.FAILURE, err
    for o in orders:
        assert (o["outcome"], o["sent"], o["not_sent"]) == ("error", False, "lookup_failed")
        assert o["message"].startswith("not sent: the order could not be looked up first")
    assert last["summary"]["sent"] == 0 and last["summary"]["by_outcome"] == {"error": 2}
    assert cancel_calls(sandbox) == []
    assert attempts() == 0


def test_error_beats_partial_and_unknown_beats_error(
    sandbox: SandboxServer,
    kinds: dict[str, list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # OrderMesh refuses our credentials on cancel (nothing applied): error.
    add_fault(sandbox.root_url, provider="ordermesh", mode="unauthorized", operations=["cancel"])
    file = write(
        tmp_path / "f.csv",
        [
            "provider,order_id",
            f"pattern,{kinds['partial'][0]}",
            f"ordermesh,{ORDERMESH_MULTI_ITEM}",
        ],
    )
    code, out, _ = batch(capsys, file, "--yes")
    assert code == exit_codes.FAILURE
    assert "error 1" in out and "partial 1" in out

    # Pattern never answers this cancel and the look-up shows the order untouched, inside
    # the cancel's window: unknown (the ordermesh row fails again: error).
    monkeypatch.setenv("STOPLINE_PATTERN__TIMEOUT_S", "0.3")
    add_fault(sandbox.root_url, provider="pattern", mode="timeout", operations=["cancel"])
    file = write(
        tmp_path / "g.csv",
        [
            "provider,order_id",
            f"pattern,{kinds['complete'][0]}",
            f"ordermesh,{ORDERMESH_MULTI_ITEM}",
        ],
    )
    code, out, _ = batch(capsys, file, "--yes")
    assert code == exit_codes.UNKNOWN
    assert "unknown 1" in out
    assert "1 unknown: the cancel may have taken effect" in out


def test_held_beats_error_and_is_reported_with_who_holds_it(
    sandbox: SandboxServer,
    kinds: dict[str, list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    add_fault(sandbox.root_url, provider="ordermesh", mode="unauthorized", operations=["cancel"])
    held = kinds["complete"][0]
    # A cancel of ``held`` was sent by a process that died before its answer came, a
    # moment ago: it may still take effect, so the order is held until it is reconciled.
    settings = load_settings()

    async def snapshot() -> Order | None:
        adapter = build_provider("pattern", settings)
        try:
            return await adapter.lookup(held)
        finally:
            await adapter.aclose()

    before = asyncio.run(snapshot())
    assert before is not None
    request = CancelRequest(
        provider="pattern", order_id=held, reason="stock-out", operator="ops-bea"
    )
    with SqliteStore(settings.journal_path()) as store:
        earlier = unanswered(store, request, before, window_over=False)
    file = write(
        tmp_path / "f.csv",
        ["provider,order_id", f"pattern,{held}", f"ordermesh,{ORDERMESH_MULTI_ITEM}"],
    )
    code, out, err = batch(capsys, file, "--yes")
    assert code == exit_codes.HELD, (out, err)
    assert "held 1" in out and "error 1" in out
    assert "1 held by another attempt" in out and "stopline history --open" in out
    assert f"attempt #{earlier} by ops-bea" in out
    assert attempts() == 2  # the earlier one and the ordermesh error: nothing new for held


def test_json_prints_one_line_per_order_then_a_summary(
    kinds: dict[str, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(
        tmp_path / "f.txt",
        [
            "# two good, one refused, one bad",
            kinds["complete"][0],
            "",
            kinds["refused"][0],
            "bad,row",
            kinds["complete"][1],
        ],
    )
    code, out, err = batch(capsys, file, "--yes", "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    *orders, last = lines
    assert code == exit_codes.REFUSED
    assert sorted(o["line_no"] for o in orders) == [2, 4, 6]
    for o in orders:
        assert {
            "line_no",
            "sent",
            "not_sent",
            "note",
            "skipped",
            "provider",
            "order_id",
            "outcome",
            "http_status",
            "cancelled",
            "not_cancelled",
            "message",
            "attempt_id",
        } <= o.keys()
        assert o["skipped"] is False
        assert (o["sent"], o["not_sent"]) == (True, None)
        assert isinstance(o["attempt_id"], int)
    by_line = {o["line_no"]: o for o in orders}
    assert by_line[4]["outcome"] == "refused"
    assert by_line[2]["outcome"] == "complete" and by_line[2]["cancelled"]
    summary = last["summary"]
    assert summary["by_outcome"] == {"complete": 2, "refused": 1}
    assert summary["errors"] == [{"line_no": 5, "error": summary["errors"][0]["error"]}]
    assert summary["exit_code"] == code
    assert summary["interrupted"] is False
    assert "DEMO" not in err

    # Run again: every order is skipped, and says so.
    first = {o["line_no"]: o["attempt_id"] for o in orders}
    code, out, _ = batch(capsys, file, "--yes", "--json")
    *orders, last = [json.loads(line) for line in out.splitlines()]
    assert all(o["skipped"] for o in orders)
    for o in orders:
        assert (o["sent"], o["not_sent"]) == (False, "settled_earlier")
        assert o["attempt_id"] == first[o["line_no"]]
        assert o["note"].startswith(f"settled earlier: attempt #{o['attempt_id']} was ")
    assert {o["line_no"]: o["outcome"] for o in orders} == {
        2: "complete",
        4: "refused",
        6: "complete",
    }
    assert last["summary"]["sent"] == 0 and last["summary"]["skipped"] == 3
    assert code == exit_codes.REFUSED


def test_good_orders_with_a_bad_row_do_not_exit_0(
    kinds: dict[str, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path / "f.txt", [kinds["complete"][0], "x" * 200])
    code, out, _ = batch(capsys, file, "--yes")
    assert code == exit_codes.USAGE
    assert re.search(r"^2\s+identifier is longer than 128", out, re.MULTILINE)
    assert attempts() == 1


def test_only_bad_rows_exits_2_and_sends_nothing(
    sandbox: SandboxServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path / "f.csv", ["provider,order_id", "amazon,1", "pattern,"])
    code, out, err = batch(capsys, file, "--yes")
    assert code == exit_codes.USAGE
    assert out == ""
    assert "line 2: unknown provider 'amazon'" in err
    assert "line 3: identifier is empty" in err
    assert "only bad rows" in err
    assert attempts() == 0


def test_without_yes_and_without_a_terminal_nothing_is_sent(
    kinds: dict[str, list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    code, _, err = batch(capsys, write(tmp_path / "f.txt", [kinds["complete"][0]]))
    assert code == exit_codes.USAGE
    assert "--yes" in err
    assert attempts() == 0


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("answer", ["yes", "no"])
def test_on_a_terminal_it_shows_the_counts_and_asks(
    answer: str,
    kinds: dict[str, list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    file = write(
        tmp_path / "f.csv",
        [
            "provider,order_id",
            f"pattern,{kinds['complete'][0]}",
            f"pattern,{kinds['complete'][1]}",
            f"ordermesh,{ORDERMESH_MULTI_ITEM}",
            "pattern,",
        ],
    )
    monkeypatch.setattr("sys.stdin", Terminal(answer + "\n"))
    code, _, err = batch(capsys, file)
    assert "About to cancel 3 orders at Pattern Hub (2), OrderMesh (1)" in err
    assert "3 cancel requests may be sent." in err
    assert "reason: stock-out" in err
    assert "line 5: identifier is empty" in err
    if answer == "yes":
        assert code == exit_codes.USAGE  # complete, but there was a bad row
        assert attempts() == 3
    else:
        assert code == exit_codes.USAGE
        assert "not sent" in err
        assert attempts() == 0


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--concurrency", "0"], "between 1 and 64"),
        (["--concurrency", "65"], "between 1 and 64"),
        (["--provider", "amazon"], "unknown provider"),
    ],
)
def test_bad_usage_exits_2(
    extra: list[str],
    needle: str,
    sandbox: SandboxServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = batch(capsys, write(tmp_path / "f.txt", ["A"]), "--yes", *extra)
    assert code == exit_codes.USAGE
    assert needle in err
    code, _, err = batch(capsys, tmp_path / "missing.txt", "--yes")
    assert code == exit_codes.USAGE
    assert "cannot read" in err


def test_an_unusable_journal_stops_the_batch_before_anything_is_sent(
    sandbox: SandboxServer,
    kinds: dict[str, list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = load_settings().journal_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not an SQLite database, but it is in the way" * 100)
    code, out, err = batch(capsys, write(tmp_path / "f.txt", [kinds["complete"][0]]), "--yes")
    assert code == exit_codes.FAILURE
    assert "journal" in err and "nothing was sent" in err
    assert "Traceback" not in err and out == ""
    order = sandbox.sandbox.data.pattern[kinds["complete"][0]]
    assert all(wo.cancel_effective_at is None for wo in order.warehouse_orders)


def test_a_batch_of_shoplazza_order_numbers_resolves_and_resumes(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Order numbers (what the floor reads off a packing slip) resolve to the orders' ids, as
    in the console; the same file run again finds them settled: nothing is sent twice."""
    file = write(tmp_path / "numbers.txt", ["1004", "1005"])
    args = ["batch", str(file), "-p", "shoplazza", "-r", "dup", "--yes", "--json"]
    code = run(args)
    out, _ = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines() if '"line_no"' in line]
    assert sorted(line["order_id"] for line in lines) == ["633130-00000004", "633130-00000005"]
    assert {line["outcome"] for line in lines} == {"complete", "refused"}
    assert code == exit_codes.REFUSED
    assert len(cancel_calls(sandbox, "shoplazza")) == 2

    again = run(args)
    out, _ = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines() if '"line_no"' in line]
    assert {line["not_sent"] for line in lines} == {"settled_earlier"}
    assert again == exit_codes.REFUSED  # the refusal stands, reported from the journal
    assert len(cancel_calls(sandbox, "shoplazza")) == 2
