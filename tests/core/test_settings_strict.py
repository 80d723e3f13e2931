"""Settings are strict and explained: unknown names get a "did you mean", values the libraries
underneath would reject are refused up front, every problem names its source in plain words,
and cross-field checks still run when a field failed. ``config check`` adds the theme and the
keymap."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.core.binding_ids import keymap_problems
from tui.core.config_check import check_config
from tui.core.settings import ConfigError, load_settings, read_settings


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def problems_of(**overrides: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(**overrides)
    return info.value.problems


def assert_plain(problems: list[str]) -> None:
    for problem in problems:
        assert "Value error" not in problem and "Input should" not in problem, problem
        assert "\n" not in problem and "type=" not in problem, problem


# -- unknown names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (
            '[shoplaza]\nbase_url = "https://a.myshoplaza.com"\n',
            "[shoplaza]: not a Stopline section; did you mean [shoplazza]?",
        ),
        ('operatr = "maria"\n', "operatr: not a Stopline setting; did you mean operator?"),
        (
            '[pattern]\nclient_secert = "s"\n',
            "[pattern] client_secert: not a setting of [pattern]; did you mean client_secret?",
        ),
        (
            'base_url = "https://x.test"\n',
            "base_url: not a Stopline setting; it belongs in a provider's section",
        ),
        ("[nonsense]\nx = 1\n", "[nonsense]: not a Stopline section"),
    ],
)
def test_unknown_file_names_are_problems_naming_the_file(
    isolated_env: Path, document: str, words: str
) -> None:
    _write(isolated_env, document)
    problems = problems_of()
    assert any(p.startswith(f"{isolated_env}: ") and words in p for p in problems), problems


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("STOPLINE_SHOPLAZA__BASE_URL", "did you mean STOPLINE_SHOPLAZZA__BASE_URL?"),
        ("STOPLINE_OPERATR", "did you mean STOPLINE_OPERATOR?"),
        ("STOPLINE_PATTERN_BASE_URL", "did you mean STOPLINE_PATTERN__BASE_URL?"),
        ("STOPLINE_PATTERN__BASE_URL__X", "not a Stopline setting"),
    ],
)
def test_unknown_environment_names_are_problems_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, words: str
) -> None:
    monkeypatch.setenv(name, "https://a.myshoplaza.com")
    problems = problems_of()
    assert any(p.startswith(f"{name}: ") and words in p for p in problems), problems


def test_variables_that_are_not_settings_are_left_alone(
    monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    monkeypatch.setenv("STOPLINE_SANDBOX_SEED", "7")
    assert load_settings().enabled_providers() == []
    assert read_settings().problems == []


def test_tables_from_the_environment_keep_their_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOPLINE_RXUNIVERSE__REASON_CODES__DUP", "Duplicate")
    monkeypatch.setenv("STOPLINE_KEYMAP", '{"stopline.cancel": "x"}')
    settings = load_settings()
    assert settings.rxuniverse.reason_codes == {"DUP": "Duplicate"}
    assert settings.keymap == {"stopline.cancel": "x"}


def test_a_table_variable_that_is_not_json_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOPLINE_RXUNIVERSE__REASON_CODES", "1=Customer")
    problems = problems_of()
    assert any(
        p.startswith("STOPLINE_RXUNIVERSE__REASON_CODES (rxuniverse.reason_codes): must be a JSON")
        for p in problems
    ), problems


# -- values the libraries would reject -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("STOPLINE_SHOPLAZZA__RATE_PER_S", "0.5", "at least 1 request per second"),
        ("STOPLINE_PATTERN__BASE_URL", "http://[::1", "not a URL that can be used"),
        ("STOPLINE_PATTERN__TOKEN_URL", "https:///token", "has no host name"),
        ("STOPLINE_SHOPLAZZA__ACCESS_TOKEN", "abc\ndef", "newline or another control"),
        ("STOPLINE_SHOPLAZZA__ACCESS_TOKEN", "tøken-value", "printable ASCII"),
        ("STOPLINE_PATTERN__CLIENT_SECRET", "s3cr3t-value\r", "newline or another control"),
        ("STOPLINE_RXUNIVERSE__API_KEY", "key\x07", "newline or another control"),
        ("STOPLINE_RXUNIVERSE__API_KEY_HEADER", "X Api: Key", "not a valid HTTP header name"),
        ("STOPLINE_OPERATOR", "bob\x1b[31m", "control characters"),
        ("STOPLINE_OPERATOR", "x" * 101, "longer than 100"),
        ("STOPLINE_RXUNIVERSE__MAX_ANSWER_BYTES", "10", "at least 1024"),
        ("STOPLINE_RXUNIVERSE__REASON_CODES", '{" ": "blank"}', "a reason code is blank"),
    ],
)
def test_values_a_library_would_refuse_are_refused_before_any_request(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, words: str
) -> None:
    monkeypatch.setenv(name, value)
    problems = problems_of()
    mine = [p for p in problems if p.startswith(f"{name} (")]
    assert mine and words in mine[0], problems
    assert_plain(problems)
    secret_like = value.strip()
    if "TOKEN" in name or "SECRET" in name or "KEY" in name:
        assert all(secret_like not in p for p in problems)


def test_file_values_are_attributed_to_the_file_and_key(isolated_env: Path) -> None:
    _write(isolated_env, '[shoplazza]\nrate_per_s = 0.5\n[pattern]\ntimeout_s = "soon"\n')
    problems = problems_of()
    assert (
        f"{isolated_env}: shoplazza.rate_per_s: must be at least 1 request per second "
        "(Shoplazza documents 2)" in problems
    )
    assert f"{isolated_env}: pattern.timeout_s: must be a number" in problems


def test_the_environment_is_named_when_it_overrides_the_file(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(isolated_env, "[pattern]\ntimeout_s = 5\n")
    monkeypatch.setenv("STOPLINE_PATTERN__TIMEOUT_S", "-1")
    problems = problems_of()
    assert problems == ["STOPLINE_PATTERN__TIMEOUT_S (pattern.timeout_s): must be more than 0.0"]


def test_cross_field_problems_are_reported_even_when_a_field_failed(isolated_env: Path) -> None:
    _write(
        isolated_env,
        '[pattern]\nbase_url = "https://api.pattern.test/hub"\ntimeout_s = 0\n'
        'client_id = "id"\n'
        '[ordermesh]\nbase_url = "ftp://om.test"\n'
        '[shoplazza]\nbase_url = "https://s.myshoplaza.com"\naccess_token = "bad\\ntoken"\n',
    )
    problems = problems_of()
    assert f"{isolated_env}: pattern.timeout_s: must be more than 0.0" in problems
    # the section's other gaps, although a field of it failed
    assert "pattern.client_secret is required when pattern.base_url is set" in problems
    assert "pattern.token_url is required when pattern.base_url is set" in problems
    # a base URL that failed still means the provider was meant to be on
    assert "ordermesh.client_id is required when ordermesh.base_url is set" in problems
    # a refused value is reported once, as refused, not again as missing
    assert not any("shoplazza.access_token is required" in p for p in problems)
    assert any("shoplazza.access_token: contains a newline" in p for p in problems)
    assert_plain(problems)


# -- config check: theme and keymap ------------------------------------------------------------


def test_config_check_names_a_misspelt_theme(isolated_env: Path) -> None:
    _write(isolated_env, 'theme = "stopline-drak"\n')
    load_settings()  # the console falls back; only config check calls it a problem
    report = check_config()
    assert report.problems == [
        f"{isolated_env}: theme: no theme is named 'stopline-drak'; did you mean stopline-dark?"
    ]


def test_a_user_theme_counts_as_a_theme(isolated_env: Path) -> None:
    folder = isolated_env.parent / "themes"
    folder.mkdir()
    (folder / "floor.toml").write_text('name = "floor-7"\nprimary = "#112233"\n')
    _write(isolated_env, 'theme = "floor-7"\n')
    assert check_config().problems == []


def test_config_check_names_unknown_binding_ids_and_clashes(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(isolated_env, '[keymap]\n"stopline.cancle" = "x"\n"stopline.history" = "c"\n')
    monkeypatch.setenv("STOPLINE_KEYMAP", '{"stopline.confirm.yes": "n"}')
    problems = check_config().problems
    # the tables merge (as every table does): each entry is named by its own source
    assert (
        "STOPLINE_KEYMAP (keymap): stopline.confirm.yes and stopline.confirm.no would share "
        "the key n on one screen"
    ) in problems
    assert (
        f"{isolated_env}: keymap.stopline.cancle: no key binding has the id stopline.cancle; "
        "did you mean stopline.cancel?"
    ) in problems
    assert (
        f"{isolated_env}: keymap.stopline.history: stopline.history and stopline.cancel would "
        "share the key c on one screen"
    ) in problems
    assert len(problems) == 3, problems


def test_keymap_defaults_never_clash_and_other_screens_do_not_count() -> None:
    assert keymap_problems({}) == []
    # q on the batch screen shadows nothing there but the app's quit: reported
    assert keymap_problems({"stopline.batch.run": "q"})
    # the same key on two different screens is fine
    assert keymap_problems({"stopline.batch.run": "c"}) == []
    assert keymap_problems({"stopline.cancel": "?"})  # the app's help, by its character


def test_config_check_reports_everything_at_once(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(
        isolated_env,
        'operatr = "m"\ntheme = "nope-theme"\n[shoplaza]\nx = 1\n'
        '[pattern]\nbase_url = "https://p.test"\n[keymap]\n"stopline.nothing" = "z"\n',
    )
    monkeypatch.setenv("STOPLINE_SHOPLAZZA__RATE_PER_S", "0.1")
    problems = check_config().problems
    assert len(problems) == 8, problems
    assert_plain(problems)
