"""Bad input and usage: exit code 2, one clear line on stderr, never a traceback, no request."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.cli import exit_codes
from tui.cli.main import run


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["lookup", ""], "identifier is empty"),
        (["lookup", "   "], "identifier is empty"),
        (["lookup", "x" * 129], "longer than 128"),
        (["lookup", "abc\x1b[31m"], "control characters"),
        (["lookup", "abc\x00def"], "control characters"),
        (["lookup", "72544", "--provider", "amazon"], "known providers: pattern, ordermesh"),
        (["cancel", "72544", "--provider", "nope", "--reason", "x", "--yes"], "unknown provider"),
        (["cancel", "", "--provider", "pattern", "--reason", "x", "--yes"], "identifier is empty"),
        (
            ["cancel", "1", "--provider", "ordermesh", "--reason", "x", "--item", "a=0", "--yes"],
            "between 1 and 1000000",
        ),
        (
            ["cancel", "1", "--provider", "ordermesh", "--reason", "x", "--item", "a=two", "--yes"],
            "whole number",
        ),
        (["cancel", "1", "--provider", "pattern"], "--reason"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(argv, capsys)
    assert code == exit_codes.USAGE
    assert needle in err
    assert "Traceback" not in err
    assert out == ""


def test_cancel_without_yes_and_without_terminal_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code, _, err = run_cli(["cancel", "72544", "--provider", "rxuniverse", "--reason", "1"], capsys)
    assert code == exit_codes.USAGE
    assert "--yes" in err


def test_config_check_reports_every_problem_at_once(
    isolated_stopline_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = isolated_stopline_home / "config.toml"
    config.write_text(
        '[pattern]\nbase_url = "ftp://nowhere"\n'
        '[shoplazza]\nbase_url = "https://shop.example"\n'
        "[ordermesh]\ntimeout_s = -1\n"
    )
    code, out, _ = run_cli(["config", "check"], capsys)
    assert code == exit_codes.USAGE
    assert "pattern.base_url" in out
    assert "ordermesh.timeout_s" in out
    assert "problems\n" in out and "(s)" not in out


def test_config_check_names_missing_credentials(
    isolated_stopline_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (isolated_stopline_home / "config.toml").write_text(
        '[shoplazza]\nbase_url = "https://shop.example"\n'
        '[pattern]\nbase_url = "https://api.example/hub"\n'
    )
    code, out, _ = run_cli(["config", "check"], capsys)
    assert code == exit_codes.USAGE
    for needle in (
        "shoplazza.access_token is required",
        "pattern.token_url is required",
        "pattern.client_id is required",
        "pattern.client_secret is required",
    ):
        assert needle in out


def test_config_holding_secrets_readable_by_others_is_refused_with_chmod(
    isolated_stopline_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = isolated_stopline_home / "config.toml"
    config.write_text(
        '[shoplazza]\nbase_url = "https://shop.example"\naccess_token = "s3cr3t-token-value"\n'
    )
    config.chmod(0o644)
    code, out, err = run_cli(["lookup", "1004"], capsys)
    assert code == exit_codes.USAGE
    assert f"chmod 600 {config}" in err
    assert "s3cr3t-token-value" not in out + err


def test_locate_prints_paths_in_use(
    isolated_stopline_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(["locate"], capsys)
    assert code == exit_codes.OK
    assert str(isolated_stopline_home / "config.toml") in out
    assert str(isolated_stopline_home / "data" / "journal.sqlite3") in out
    assert str(isolated_stopline_home / "log" / "stopline.log") in out
