"""Promise 7, continued: a mistaken setting is caught before anything is sent, and the demo
sandbox is never a silent stand-in for a real provider. Each case runs the real program
(``python -m tui`` in a subprocess, with its own environment) and checks its exit code, its
words, that the hostile provider saw no request, and that no journal row was written."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tui.cli import exit_codes
from tui.core.journal import SqliteStore

from .hostile import ISSUED, SECRETS, SHOP_ID, HostileServer, answer_json
from .kit import stopline

SHOP = "https://shop.example.invalid"


@pytest.fixture
def home(isolated_stopline_home: Path) -> Path:
    return isolated_stopline_home


def base_env(home: Path) -> dict[str, str]:
    return {
        "STOPLINE_CONFIG": str(home / "config.toml"),
        "STOPLINE_DATA_DIR": str(home / "data"),
        "STOPLINE_LOG_DIR": str(home / "log"),
        "STOPLINE_OPERATOR": "test-operator",
    }


def write_config(home: Path, text: str) -> None:
    path = home / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)


def cancel_shop(env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return stopline("cancel", SHOP_ID, "-p", "shoplazza", "-r", "dup", "--yes", *extra, env=env)


def journal_rows(home: Path) -> int:
    rows = 0
    for path in (home / "data").rglob("journal.sqlite3"):
        with SqliteStore(path) as journal:
            rows += len(journal.attempts(limit=None))
    return rows


def assert_refused_plainly(result: subprocess.CompletedProcess[str], *words: str) -> None:
    said = result.stdout + result.stderr
    assert result.returncode == exit_codes.USAGE, said
    for word in words:
        assert word in said, said
    assert "Traceback" not in said and "Value error" not in said and "Input should" not in said


# -- unknown names: refused with a "did you mean", not silently dropped -----------------------


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (
            f'[shoplaza]\nbase_url = "{SHOP}"\naccess_token = "t0ken-value"\n',
            ["[shoplaza]", "did you mean [shoplazza]?"],
        ),
        ('operatr = "maria"\n', ["operatr", "did you mean operator?"]),
        ('[shoplazza]\nrate_per_s = 2\nacess_token = "x"\n', ["did you mean access_token?"]),
    ],
)
def test_a_misspelt_file_is_refused_by_config_check_and_by_cancel(
    home: Path, hostile: HostileServer, document: str, words: list[str]
) -> None:
    write_config(home, document)
    env = base_env(home)
    check = stopline("config", "check", env=env)
    assert_refused_plainly(check, str(home / "config.toml"), *words)
    # The issue's case: with the provider's section misspelt, cancel must not quietly act
    # on the demo sandbox and call it complete.
    acted = cancel_shop(env, "--json")
    assert_refused_plainly(acted, *words)
    assert acted.stdout == ""
    assert journal_rows(home) == 0


def test_a_misspelt_variable_is_refused_with_its_right_name(home: Path) -> None:
    env = {**base_env(home), "STOPLINE_SHOPLAZA__BASE_URL": SHOP}
    result = stopline("config", "check", env=env)
    assert_refused_plainly(
        result, "STOPLINE_SHOPLAZA__BASE_URL", "did you mean STOPLINE_SHOPLAZZA__BASE_URL?"
    )


# -- values the libraries would reject: exit 2 before anything is sent -------------------------


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("STOPLINE_SHOPLAZZA__RATE_PER_S", "0.5", "at least 1 request per second"),
        ("STOPLINE_SHOPLAZZA__BASE_URL", "http://[::1", "not a URL that can be used"),
        ("STOPLINE_SHOPLAZZA__ACCESS_TOKEN", "t0ken\nX-Injected: 1", "newline"),
        ("STOPLINE_RXUNIVERSE__API_KEY_HEADER", "X Lab: Token", "not a valid HTTP header name"),
        ("STOPLINE_OPERATOR", "maria\x1b[2J", "control characters"),
    ],
)
def test_a_value_a_library_would_refuse_is_named_and_nothing_is_sent(
    home: Path, hostile: HostileServer, name: str, value: str, words: str
) -> None:
    env = {**base_env(home), **hostile.settings_env(), name: value}
    assert_refused_plainly(stopline("config", "check", env=env), f"{name} (", words)
    assert_refused_plainly(cancel_shop(env), f"{name} (", words)
    assert hostile.requests == []
    assert journal_rows(home) == 0


def test_an_issued_token_that_cannot_be_sent_is_an_error_not_unknown(
    home: Path, hostile: HostileServer
) -> None:
    """Settings cannot vet what a provider issues: a token with a newline. Neither the look-up
    before the cancel nor the cancel leaves, so it is an error (exit 1) — no phantom unknown,
    no attempt left behind."""
    hostile.on(
        "ordermesh", "token", answer_json(200, {"access_token": "tok\nen", "expires_in": 60})
    )
    env = {**base_env(home), **hostile.settings_env()}
    result = stopline(
        "cancel",
        "670e58fe7741035996cf7d20",
        "-p",
        "ordermesh",
        "-r",
        "dup",
        "--yes",
        "--json",
        env=env,
    )
    assert result.returncode == exit_codes.FAILURE, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["outcome"] == "error" and "nothing was sent" in outcome["message"]
    assert outcome["sent"] is False and outcome["not_sent"] == "lookup_failed"
    assert hostile.seen("ordermesh", "cancel") == []
    assert hostile.seen("ordermesh", "lookup") == []
    with SqliteStore(home / "data" / "journal.sqlite3") as journal:
        assert journal.attempts(limit=None) == []  # the claim was withdrawn: no attempt
        assert journal.open_attempt("ordermesh", "670e58fe7741035996cf7d20") is None


def test_a_bad_reason_code_is_refused_before_anything_is_sent(
    home: Path, hostile: HostileServer
) -> None:
    env = {**base_env(home), **hostile.settings_env()}
    result = stopline(
        "cancel",
        "72544",
        "-p",
        "rxuniverse",
        "-r",
        "dup",
        "--reason-code",
        "D\x07UP",
        "--yes",
        env=env,
    )
    assert_refused_plainly(result, "reason code contains control characters")
    assert hostile.requests == []


# -- config check: everything at once, in plain words, each with its source --------------------


def test_config_check_reports_every_problem_at_once(home: Path) -> None:
    write_config(
        home,
        'operatr = "maria"\ntheme = "stopline-drak"\n'
        '[pattern]\nbase_url = "https://api.pattern.invalid/hub"\ntimeout_s = 0\n'
        '[keymap]\n"stopline.cancle" = "x"\n"stopline.history" = "c"\n',
    )
    env = {**base_env(home), "STOPLINE_SHOPLAZZA__RATE_PER_S": "0.5"}
    result = stopline("config", "check", env=env)
    config = str(home / "config.toml")
    assert_refused_plainly(
        result,
        f"{config}: operatr: not a Stopline setting; did you mean operator?",
        f"{config}: theme: no theme is named 'stopline-drak'; did you mean stopline-dark?",
        f"{config}: pattern.timeout_s: must be more than 0.0",
        # cross-field problems, although a field of the same section failed
        "pattern.client_secret is required when pattern.base_url is set",
        "pattern.token_url is required when pattern.base_url is set",
        "STOPLINE_SHOPLAZZA__RATE_PER_S (shoplazza.rate_per_s): must be at least 1",
        "no key binding has the id stopline.cancle; did you mean stopline.cancel?",
        "stopline.history and stopline.cancel would share the key c on one screen",
        "9 problems",
    )
    # The file is not blamed for what the environment said, nor the reverse.
    assert f"{config}: shoplazza" not in result.stdout


def test_a_misspelt_theme_does_not_stop_a_look_up(home: Path) -> None:
    write_config(home, 'theme = "stopline-drak"\n')
    env = base_env(home)
    assert stopline("config", "check", env=env).returncode == exit_codes.USAGE
    assert stopline("lookup", SHOP_ID, "-p", "shoplazza", env=env).returncode == exit_codes.OK


# -- the demo sandbox: never a silent fallback for acting --------------------------------------


def test_without_a_provider_cancel_and_batch_refuse_and_name_demo(home: Path) -> None:
    env = base_env(home)
    ids = home / "ids.txt"
    ids.write_text(f"{SHOP_ID}\n")
    for command, result in (
        ("cancel", cancel_shop(env, "--json")),
        (
            "batch",
            stopline("batch", str(ids), "-p", "shoplazza", "-r", "dup", "--yes", "--json", env=env),
        ),
    ):
        assert_refused_plainly(result, "no provider is configured", f"stopline --demo {command}")
        assert result.stdout == ""
    assert journal_rows(home) == 0

    # The same, asked for on purpose.
    demo = stopline(
        "--demo", "cancel", SHOP_ID, "-p", "shoplazza", "-r", "dup", "--yes", "--json", env=env
    )
    assert demo.returncode == exit_codes.OK, demo.stderr
    assert json.loads(demo.stdout)["demo"] is True
    looked = stopline("lookup", "1005", "--json", env=env)  # lookup may use the sandbox
    assert looked.returncode == exit_codes.OK
    assert all(result["demo"] is True for result in json.loads(looked.stdout))


def test_secrets_never_appear_in_a_refusal(home: Path, hostile: HostileServer) -> None:
    env = {
        **base_env(home),
        **hostile.settings_env(),
        "STOPLINE_SHOPLAZZA__RATE_PER_S": "0.5",
        "STOPLINE_PATTERN__CLIENT_SECRET": SECRETS["pattern"] + "\n",
    }
    result = stopline("config", "check", env=env)
    assert result.returncode == exit_codes.USAGE
    for needle in (*SECRETS.values(), *ISSUED.values()):
        assert needle not in result.stdout + result.stderr
