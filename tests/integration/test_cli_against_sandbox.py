"""``stopline lookup`` / ``cancel`` end to end: exit codes, ``--json`` shape, human output."""

from __future__ import annotations

import json

import pytest

from tui.cli import exit_codes
from tui.cli.main import run
from tui.sandbox import control, showcase

PUBLIC_FIELDS = {
    "provider",
    "order_id",
    "outcome",
    "http_status",
    "message",
    "confirmed",
    "cancelled",
    "not_cancelled",
    "warnings",
    "request_id",
    "demo",
}
SENT_FIELDS = PUBLIC_FIELDS | {"sent", "attempt_id"}
NOT_SENT_FIELDS = PUBLIC_FIELDS | {"sent", "not_sent", "reason_not_sent", "attempt"}


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run(argv)
    out, err = capsys.readouterr()
    return code, out, err


def history(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    code, out, err = cli(["history", "--json"], capsys)
    assert code == exit_codes.OK, err
    return json.loads(out)


@pytest.mark.parametrize(
    ("argv", "code", "outcome"),
    [
        (["--provider", "pattern", showcase.PATTERN_ALL_CANCELLABLE], exit_codes.OK, "complete"),
        (["--provider", "pattern", showcase.PATTERN_PARTIAL], exit_codes.PARTIAL, "partial"),
        (["--provider", "pattern", showcase.PATTERN_NONE], exit_codes.REFUSED, "refused"),
        (["--provider", "ordermesh", showcase.ORDERMESH_SHIPPED], exit_codes.REFUSED, "refused"),
    ],
)
def test_cancel_exit_codes_and_json(
    sandbox_env: dict[str, str],
    root_url: str,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    code: int,
    outcome: str,
) -> None:
    got, out, err = cli(
        ["cancel", *argv, "--reason", "customer request", "--yes", "--json"], capsys
    )
    assert got == code, err
    body = json.loads(out)
    assert set(body) == SENT_FIELDS
    assert body["outcome"] == outcome
    assert body["sent"] is True
    assert len(control.calls(root_url, "cancel")) == 1
    (attempt,) = history(capsys)
    assert body["attempt_id"] == attempt["id"]
    assert attempt["outcome"] == outcome and attempt["state"] == "finished"
    assert body["demo"] is False  # configured providers answered, not the embedded sandbox


def test_cancel_of_an_order_the_lookup_does_not_find_is_not_sent(
    sandbox_env: dict[str, str], root_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(
        ["cancel", "--provider", "shoplazza", "999999-1", "-r", "dup", "--yes", "--json"], capsys
    )
    assert code == exit_codes.NOT_FOUND, err
    body = json.loads(out)
    assert set(body) == NOT_SENT_FIELDS
    assert body["outcome"] == "not_found"
    assert (body["sent"], body["not_sent"], body["attempt"]) == (False, "not_found", None)
    assert "nothing was sent" in body["reason_not_sent"]
    assert control.calls(root_url, "cancel") == []
    assert history(capsys) == []


def test_cancel_of_items_that_are_not_on_the_order_is_refused_as_usage(
    sandbox_env: dict[str, str], root_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(
        [
            "cancel",
            "--provider",
            "ordermesh",
            showcase.ORDERMESH_MULTI_ITEM,
            "--item",
            "nope=1",
            "-r",
            "dup",
            "--yes",
            "--json",
        ],
        capsys,
    )
    assert code == exit_codes.USAGE
    assert out == ""
    assert "item nope is not on" in err and "nothing was sent" in err
    assert "Traceback" not in err
    assert control.calls(root_url, "cancel") == []


def test_cancel_unknown_exits_6_and_a_second_cancel_is_held_with_7(
    sandbox_env: dict[str, str],
    root_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STOPLINE_SHOPLAZZA__TIMEOUT_S", "0.5")
    control.add_fault(
        root_url, provider="shoplazza", mode="timeout", operations=["cancel"], when="before"
    )
    argv = ["cancel", showcase.SHOPLAZZA_OPEN_ID, "-p", "shoplazza", "-r", "dup", "--yes", "--json"]
    code, out, _ = cli(argv, capsys)
    assert code == exit_codes.UNKNOWN
    body = json.loads(out)
    assert (body["outcome"], body["sent"]) == ("unknown", True)

    code, out, _ = cli(argv, capsys)
    assert code == exit_codes.HELD
    held = json.loads(out)
    assert (held["sent"], held["not_sent"]) == (False, "earlier_unknown")
    assert held["attempt"]["attempt_id"] == body["attempt_id"]
    assert len(control.calls(root_url, "cancel")) == 1


def test_provider_down_exits_1_with_one_line(
    sandbox_env: dict[str, str], root_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    control.add_fault(root_url, provider="pattern", mode="unauthorized")
    code, _, err = cli(["lookup", showcase.PATTERN_PARTIAL, "--provider", "pattern"], capsys)
    assert code == exit_codes.FAILURE
    assert "Traceback" not in err


def test_lookup_json_and_exit_codes(
    sandbox_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(["lookup", "337178", "--json"], capsys)
    assert code == exit_codes.OK
    found = [r for r in json.loads(out) if r["state"] == "found"]
    assert [r["provider"] for r in found] == ["rxuniverse"]
    assert all(r["demo"] is False for r in json.loads(out))
    code, _, _ = cli(["lookup", "no-such-order-anywhere"], capsys)
    assert code == exit_codes.NOT_FOUND


def test_human_output_shows_hostile_text_literally(
    sandbox_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(
        ["cancel", showcase.HOSTILE_TEXT_ORDER, "-p", "pattern", "-r", "x", "--yes"], capsys
    )
    assert code == exit_codes.REFUSED
    assert "\x1b" not in out and "\x07" not in out
    assert "[/]" in out or "[bold" in out  # markup printed as text, not interpreted


def test_demo_mode_says_so_and_uses_the_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(["lookup", showcase.SHOPLAZZA_OPEN_ID, "--provider", "shoplazza"], capsys)
    assert code == exit_codes.OK
    assert "DEMO DATA" in err
    assert showcase.SHOPLAZZA_OPEN_ID in out


def test_demo_lookup_json_says_demo(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(["lookup", showcase.SHOPLAZZA_OPEN_ID, "--json"], capsys)
    assert code == exit_codes.OK
    results = json.loads(out)
    assert results and all(r["demo"] is True for r in results)
    assert err == ""  # --json keeps stderr quiet; the answer itself says demo


@pytest.mark.parametrize("command", ["cancel", "batch"])
def test_acting_never_falls_back_to_the_demo_sandbox(
    command: str, capsys: pytest.CaptureFixture[str], tmp_path: pytest.TempPathFactory
) -> None:
    """With no provider configured, cancel and batch refuse unless --demo is given."""
    ids = tmp_path / "ids.txt"  # type: ignore[operator]
    ids.write_text(showcase.SHOPLAZZA_OPEN_ID + "\n")
    target = str(ids) if command == "batch" else showcase.SHOPLAZZA_OPEN_ID
    argv = [command, target, "-p", "shoplazza", "-r", "dup", "--yes", "--json"]
    code, out, err = cli(argv, capsys)
    assert code == exit_codes.USAGE
    assert out == ""
    assert "no provider is configured" in err and "--demo" in err
    assert len(err.strip().splitlines()) == 1

    code, out, err = cli(["--demo", *argv], capsys)
    assert code == exit_codes.OK, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines and all((line.get("summary") or line)["demo"] is True for line in lines), lines
