"""The command line as gh and kubectl users expect it: global flags anywhere, each command's
own help (with its exit codes) named in its errors, "did you mean", output that a pipe gets
whole, a spinner on a terminal's stderr only, ``--version`` and shell completion."""

from __future__ import annotations

import argparse
import json
import os
import pty
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tui import __version__
from tui.cli import exit_codes
from tui.cli.main import build_parser, run
from tui.core.domain import CancelOutcome, CancelRequest, Line, Order, Outcome
from tui.core.journal import Holder, SqliteStore
from tui.core.settings import load_settings
from tui.sandbox import control, showcase


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run(argv)
    out, err = capsys.readouterr()
    return code, out, err


def stopline() -> list[str]:
    script = Path(sys.executable).parent / "stopline"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "tui"]


# -- flags, help, did you mean ------------------------------------------------------------


def test_global_flags_are_taken_after_the_command_too(
    sandbox_env: dict[str, str], root_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # --read-only after the command: refused before anything is sent.
    code, _, err = cli(
        ["cancel", showcase.SHOPLAZZA_OPEN_NUMBER, "-p", "shoplazza", "-r", "x", "--yes",
         "--read-only"],
        capsys,
    )  # fmt: skip
    assert code == exit_codes.USAGE and "read-only" in err
    assert control.calls(root_url, "cancel") == []
    # --demo after the command: the embedded sandbox answers, not the configured providers.
    code, out, err = cli(["lookup", showcase.SHOPLAZZA_OPEN_NUMBER, "--json", "--demo"], capsys)
    assert code == exit_codes.OK, err
    assert all(result["demo"] is True for result in json.loads(out))
    assert control.calls(root_url) == []


@pytest.mark.parametrize(
    ("argv", "prog"),
    [
        (["cancel", "1004"], "stopline cancel"),
        (["lookup"], "stopline lookup"),
        (["history", "--limit", "many"], "stopline history"),
        (["journal", "migrate", "--nope"], "stopline journal migrate"),
        (["config"], "stopline config"),
        (["frobnicate"], "stopline"),
    ],
)
def test_a_usage_error_points_to_the_commands_own_help(
    argv: list[str], prog: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(argv, capsys)
    assert code == exit_codes.USAGE and out == ""
    assert err.rstrip().endswith(f"(see {prog} --help)"), err


def test_config_check_help_is_config_checks_own(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        run(["config", "check", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: stopline config check")
    assert "report every problem at once" in " ".join(out.split()) and "exit codes:" in out


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (["lokup", "1004"], "did you mean lookup?"),
        (["histroy"], "did you mean history?"),
        (["lookup", "1004", "--provider", "shoplaza"], "did you mean shoplazza?"),
        (["history", "--provider", "ordremesh"], "did you mean ordermesh?"),
        (["history", "--outcome", "complet"], "did you mean complete?"),
        (["completion", "bsh"], "did you mean bash?"),
    ],
)
def test_did_you_mean(argv: list[str], hint: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(argv, capsys)
    assert code == exit_codes.USAGE and out == ""
    assert hint in err and "Traceback" not in err


def test_a_provider_may_be_named_by_its_label(
    sandbox_env: dict[str, str], root_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(
        ["lookup", showcase.ORDERMESH_MULTI_ITEM, "--provider", "OrderMesh", "--json"], capsys
    )
    assert code == exit_codes.OK, err
    assert [r["provider"] for r in json.loads(out)] == ["ordermesh"]


def _commands(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _commands(child)


def test_every_commands_help_lists_its_exit_codes() -> None:
    commands = list(_commands(build_parser()))
    assert len(commands) >= 12
    for parser in commands:
        text = parser.format_help()
        assert "\nexit codes:\n" in text, parser.prog
        assert "  0  " in text, parser.prog
        # Global flags are listed (and taken) by every command.
        assert "--demo" in text and "--read-only" in text, parser.prog


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        run(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"stopline {__version__}"


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_shell_completion_is_generated_from_the_parser(
    shell: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(["completion", shell], capsys)
    assert code == exit_codes.OK
    for command in ("lookup", "cancel", "history", "batch", "completion"):
        assert command in out
    assert "--reason" in out and "--read-only" in out
    binary = shutil.which(shell)
    if binary is not None:  # the script parses in the shell it is for
        checked = subprocess.run(
            [binary, "-n"], input=out, text=True, capture_output=True, timeout=30, check=False
        )
        assert checked.returncode == 0, checked.stderr


# -- output into a pipe --------------------------------------------------------------------


def _seed_long_history(path: Path, count: int) -> list[str]:
    """``count`` finished attempts with long operators and reasons; their order ids."""
    path.parent.mkdir(parents=True, exist_ok=True)
    holder = Holder(operator="supervisor-with-a-rather-long-name", host="floor-7", pid=1)
    orders = []
    with SqliteStore(path) as store:
        for n in range(count):
            order_id = f"633130-{n:08d}"
            request = CancelRequest(
                provider="shoplazza",
                order_id=order_id,
                reason=f"customer asked twice on the phone, see ticket {n} and the notes "
                "attached to it by the warehouse",
            )
            claimed = store.claim(
                request,
                holder,
                lease_until=datetime(2099, 1, 1, tzinfo=UTC),
                take_over=lambda _attempt: False,
            )
            assert claimed.attempt_id is not None
            before = Order(
                provider="shoplazza",
                order_id=order_id,
                status="placed",
                lines=(Line(id="L1", quantity=1, status="placed", cancellable=True),),
            )
            far = datetime(2099, 1, 1, tzinfo=UTC)
            store.mark_sent(claimed.attempt_id, before, lease_until=far)
            outcome = CancelOutcome(
                provider="shoplazza",
                order_id=order_id,
                outcome=Outcome.COMPLETE if n % 3 else Outcome.REFUSED,
                http_status=200 if n % 3 else 406,
                message="the order was cancelled by the provider, as asked" if n % 3 else "",
                confirmed=True,
            )
            store.finish(claimed.attempt_id, outcome, 12.0)
            orders.append(order_id)
    return orders


def test_history_into_a_pipe_is_whole_so_grep_finds_every_row(
    isolated_stopline_home: Path,
) -> None:
    settings = load_settings()
    journal = settings.resolved_data_dir() / "demo" / "journal.sqlite3"  # none configured
    orders = _seed_long_history(journal, 30)
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run(
        [*stopline(), "history", "--limit", "100"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == exit_codes.OK, done.stderr
    complete = [line for line in done.stdout.splitlines() if "complete" in line]
    expected = [o for n, o in enumerate(orders) if n % 3]
    assert len(complete) == len(expected)
    for order_id in expected:
        assert any(order_id in line for line in complete), order_id
    # Every value whole on its row: the reason and the provider's label too.
    assert all("attached to it by the warehouse" in line for line in complete)
    assert all("Shoplazza" in line for line in complete)


# -- a spinner on a terminal's stderr, never in a pipe --------------------------------------


def _run_with_tty_stderr(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """``argv`` with stderr on a pseudo-terminal and stdout into a pipe."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, env=env
    )
    os.close(slave)
    seen = bytearray()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen.extend(chunk)
        elif proc.poll() is not None:
            break
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    code = proc.wait(timeout=30)
    os.close(master)
    return code, out, seen.decode(errors="replace")


@pytest.fixture
def slow_demo_env() -> dict[str, str]:
    """The embedded demo sandbox answering slowly enough for a spinner to show."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env["STOPLINE_SANDBOX_LATENCY_MS"] = "700"
    env["TERM"] = "xterm-256color"
    return env


def test_lookup_spins_on_a_terminal_and_stdout_stays_clean(
    slow_demo_env: dict[str, str],
) -> None:
    code, out, err = _run_with_tty_stderr(
        [*stopline(), "lookup", showcase.SHOPLAZZA_OPEN_NUMBER, "--json", "--demo"],
        slow_demo_env,
    )
    assert code == exit_codes.OK, err
    assert f"looking {showcase.SHOPLAZZA_OPEN_NUMBER} up" in err
    assert json.loads(out)  # nothing but JSON on stdout


def test_cancel_says_what_it_waits_for(slow_demo_env: dict[str, str]) -> None:
    code, out, err = _run_with_tty_stderr(
        [*stopline(), "cancel", showcase.SHOPLAZZA_OPEN_NUMBER, "-p", "shoplazza",
         "-r", "customer called", "--yes", "--json", "--demo"],
        slow_demo_env,
    )  # fmt: skip
    assert code == exit_codes.OK, err
    assert "cancelling at Shoplazza: waiting for its answer (unknown after 15 s)" in err
    assert json.loads(out)["outcome"] == "complete"


def test_no_spinner_without_a_terminal(slow_demo_env: dict[str, str]) -> None:
    done = subprocess.run(
        [*stopline(), "lookup", showcase.SHOPLAZZA_OPEN_NUMBER, "--json", "--demo"],
        capture_output=True,
        text=True,
        env=slow_demo_env,
        timeout=60,
        check=False,
    )
    assert done.returncode == exit_codes.OK, done.stderr
    assert "looking" not in done.stderr
    assert json.loads(done.stdout)
