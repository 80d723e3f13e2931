"""Settings: the documented STOPLINE_* names, env over TOML, every problem at once, secrets."""

from __future__ import annotations

import getpass
from pathlib import Path

import platformdirs
import pytest

from tui.core import settings as settings_module
from tui.core.settings import (
    ConfigError,
    Settings,
    check_config_file_permissions,
    config_path,
    default_config_path,
    load_settings,
)

CONTRACT_ENV = {
    "STOPLINE_PATTERN__BASE_URL": "https://api.pattern.test/hub/",
    "STOPLINE_PATTERN__TOKEN_URL": "https://auth.pattern.test/token",
    "STOPLINE_PATTERN__CLIENT_ID": "p-id",
    "STOPLINE_PATTERN__CLIENT_SECRET": "p-secret-xyz",
    "STOPLINE_ORDERMESH__BASE_URL": "https://api.stg.ordermesh.io/",
    "STOPLINE_ORDERMESH__CLIENT_ID": "o-id",
    "STOPLINE_ORDERMESH__CLIENT_SECRET": "o-secret-xyz",
    "STOPLINE_SHOPLAZZA__BASE_URL": "https://shop.myshoplaza.com",
    "STOPLINE_SHOPLAZZA__ACCESS_TOKEN": "s-token-xyz",
    "STOPLINE_RXUNIVERSE__BASE_URL": "http://labserver:4567",
    "STOPLINE_RXUNIVERSE__API_KEY": "rx-key-xyz",
}
SECRETS = ("p-secret-xyz", "o-secret-xyz", "s-token-xyz", "rx-key-xyz")


def _write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_the_documented_environment_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in CONTRACT_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("STOPLINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STOPLINE_OPERATOR", "  alice  ")

    s = load_settings()

    assert s.pattern.base_url == "https://api.pattern.test/hub"  # trailing slash dropped
    assert s.pattern.token_url == "https://auth.pattern.test/token"
    assert s.pattern.client_id == "p-id"
    assert s.pattern.client_secret is not None
    assert s.pattern.client_secret.get_secret_value() == "p-secret-xyz"
    assert s.ordermesh.base_url == "https://api.stg.ordermesh.io"
    assert s.ordermesh.client_id == "o-id"
    assert s.ordermesh.client_secret.get_secret_value() == "o-secret-xyz"
    assert s.shoplazza.base_url == "https://shop.myshoplaza.com"
    assert s.shoplazza.access_token.get_secret_value() == "s-token-xyz"
    assert s.rxuniverse.base_url == "http://labserver:4567"
    assert s.rxuniverse.api_key.get_secret_value() == "rx-key-xyz"
    assert s.data_dir == tmp_path / "data"
    assert s.journal_path() == tmp_path / "data" / "journal.sqlite3"
    assert s.resolved_operator() == "alice"
    assert s.enabled_providers() == ["pattern", "ordermesh", "shoplazza", "rxuniverse"]


def test_a_provider_is_enabled_only_by_its_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().enabled_providers() == []
    monkeypatch.setenv("STOPLINE_RXUNIVERSE__BASE_URL", "http://lab:4567")
    monkeypatch.setenv("STOPLINE_SHOPLAZZA__BASE_URL", "   ")  # blank is unset
    assert Settings().enabled_providers() == ["rxuniverse"]


def test_defaults_when_nothing_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(getpass, "getuser", lambda: "os-login")
    s = load_settings()
    assert s.resolved_operator() == "os-login"
    assert s.resolved_data_dir() == platformdirs.user_data_path("stopline", appauthor=False)
    assert s.read_only is False
    assert s.ordermesh.trigger_flow is True
    assert s.shoplazza.api_version == "2022-01"
    assert s.rxuniverse.reason_param == "query"
    assert s.rxuniverse.reason_field == "deleteReason"


def test_environment_beats_the_toml_file_and_both_merge(
    monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    _write(
        isolated_env,
        """
operator = "from-file"
read_only = true

[pattern]
base_url = "https://file.pattern.test/hub"
token_url = "https://auth.pattern.test/token"
client_id = "file-id"
client_secret = "file-secret"

[ordermesh]
trigger_flow = false
""",
    )
    monkeypatch.setenv("STOPLINE_PATTERN__BASE_URL", "https://env.pattern.test/hub")
    monkeypatch.setenv("STOPLINE_OPERATOR", "from-env")

    s = load_settings()

    assert s.pattern.base_url == "https://env.pattern.test/hub"  # env wins
    assert s.pattern.client_id == "file-id"  # the file still fills the rest of the section
    assert s.pattern.client_secret.get_secret_value() == "file-secret"
    assert s.resolved_operator() == "from-env"
    assert s.read_only is True
    assert s.ordermesh.trigger_flow is False


def test_stopline_config_chooses_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    other = _write(tmp_path / "elsewhere.toml", '[rxuniverse]\nbase_url = "http://lab2:4567"\n')
    monkeypatch.setenv("STOPLINE_CONFIG", str(other))
    assert config_path() == other
    assert load_settings().rxuniverse.base_url == "http://lab2:4567"


def test_without_stopline_config_the_platform_path_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("STOPLINE_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    expected = platformdirs.user_config_path("stopline", appauthor=False) / "config.toml"
    assert config_path() == default_config_path() == expected
    expected.parent.mkdir(parents=True)
    _write(expected, '[shoplazza]\nbase_url = "https://a.myshoplaza.com"\naccess_token = "t"\n')
    assert load_settings().shoplazza.base_url == "https://a.myshoplaza.com"


def test_stopline_config_pointing_at_nothing_is_a_problem(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.toml"
    monkeypatch.setenv("STOPLINE_CONFIG", str(missing))
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert any(str(missing) in p and "not a file" in p for p in info.value.problems)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_a_secret_holding_file_readable_by_others_is_refused(isolated_env: Path, mode: int) -> None:
    _write(isolated_env, '[shoplazza]\naccess_token = "t0ken"\n', mode)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert f"chmod 600 {isolated_env}" in str(info.value)
    assert "t0ken" not in str(info.value)


def test_permissions_only_matter_when_the_file_holds_secrets(isolated_env: Path) -> None:
    _write(isolated_env, 'operator = "bob"\n', 0o644)
    assert check_config_file_permissions(isolated_env) is None
    assert load_settings().operator == "bob"
    _write(isolated_env, '[pattern]\nclient_secret = "s"\n', 0o600)
    assert check_config_file_permissions(isolated_env) is None


def test_load_settings_reports_every_problem_at_once(isolated_env: Path) -> None:
    _write(
        isolated_env,
        """
lookup_concurrency = 99

[pattern]
base_url = "ftp://pattern.test"
client_secret = "s"

[ordermesh]
base_url = "https://om.test"
timeout_s = 0

[rxuniverse]
reason_param = "header"
""",
        0o644,
    )
    with pytest.raises(ConfigError) as info:
        load_settings()
    problems = info.value.problems
    text = "\n".join(problems)
    assert "chmod 600" in text
    assert "pattern.base_url" in text
    assert "ordermesh.timeout_s" in text
    assert "rxuniverse.reason_param" in text
    assert "lookup_concurrency" in text
    assert len(problems) >= 5
    assert str(info.value) == "; ".join(problems)


def test_missing_credentials_of_enabled_providers_are_all_reported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STOPLINE_PATTERN__BASE_URL", "https://api.pattern.test/hub")
    monkeypatch.setenv("STOPLINE_PATTERN__TOKEN_URL", "auth.pattern.test/token")
    monkeypatch.setenv("STOPLINE_ORDERMESH__BASE_URL", "https://om.test")
    monkeypatch.setenv("STOPLINE_SHOPLAZZA__BASE_URL", "https://s.myshoplaza.com")
    monkeypatch.setenv("STOPLINE_CA_BUNDLE", str(tmp_path / "missing-ca.pem"))
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert set(info.value.problems) == {
        "pattern.client_id is required when pattern.base_url is set",
        "pattern.client_secret is required when pattern.base_url is set",
        # A value's problem names the variable that gave it.
        "STOPLINE_PATTERN__TOKEN_URL (pattern.token_url): must start with http:// or https://",
        "ordermesh.client_id is required when ordermesh.base_url is set",
        "ordermesh.client_secret is required when ordermesh.base_url is set",
        "shoplazza.access_token is required when shoplazza.base_url is set",
        f"STOPLINE_CA_BUNDLE (ca_bundle): {tmp_path / 'missing-ca.pem'} is not a file",
    }


def test_malformed_toml_is_a_config_error_naming_the_file(isolated_env: Path) -> None:
    _write(isolated_env, "[pattern\nbase_url = \n")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert str(isolated_env) in str(info.value)


def test_secrets_never_show_in_repr_or_str(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CONTRACT_ENV.items():
        monkeypatch.setenv(name, value)
    s = load_settings()
    shown = [
        repr(s),
        str(s),
        repr(s.pattern),
        str(s.ordermesh),
        repr(s.shoplazza),
        repr(s.rxuniverse),
        s.model_dump_json(),
        str(s.model_dump()),
    ]
    for secret in SECRETS:
        for text in shown:
            assert secret not in text


def test_secrets_never_show_in_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOPLINE_PATTERN__BASE_URL", "not-a-url")
    monkeypatch.setenv("STOPLINE_PATTERN__CLIENT_SECRET", "p-secret-xyz")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "p-secret-xyz" not in str(info.value)


def test_read_only_switches() -> None:
    s = Settings(rxuniverse={"base_url": "http://lab:1", "read_only": True})
    assert s.is_read_only("rxuniverse") is True
    assert s.is_read_only("pattern") is False
    assert s.is_read_only() is False
    s = Settings(read_only=True)
    assert all(s.is_read_only(key) for key in ("pattern", "ordermesh", "shoplazza", "rxuniverse"))
    assert s.is_read_only() is True


@pytest.mark.parametrize(
    ("url", "environment"),
    [
        ("http://127.0.0.1:8000", "sandbox"),
        ("http://localhost:9000", "sandbox"),
        ("https://stage-api.pattern.com/hub", "staging"),
        ("https://api.stg.ordermesh.io", "staging"),
        ("https://api.dev.ordermesh.io", "staging"),
        ("https://api.pattern.com/hub", "production"),
    ],
)
def test_environment_is_guessed_from_the_url(url: str, environment: str) -> None:
    assert Settings(pattern={"base_url": url}).pattern.resolved_environment() == environment


def test_an_explicit_environment_wins_over_the_guess() -> None:
    s = Settings(pattern={"base_url": "http://127.0.0.1:1", "environment": "production"})
    assert s.pattern.resolved_environment() == "production"


def test_module_reads_the_config_path_at_load_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = _write(tmp_path / "a.toml", 'operator = "first"\n')
    second = _write(tmp_path / "b.toml", 'operator = "second"\n')
    monkeypatch.setenv("STOPLINE_CONFIG", str(first))
    assert settings_module.load_settings().operator == "first"
    monkeypatch.setenv("STOPLINE_CONFIG", str(second))
    assert settings_module.load_settings().operator == "second"


def test_one_section_is_the_one_the_mapping_holds_and_no_other() -> None:
    from tui.core.settings import load_settings as load

    settings = load(shoplazza={"base_url": "http://127.0.0.1:9/s", "access_token": "t"})
    for key, section in settings.providers().items():
        assert settings.section(key) is section
    for missing in ("nope", "read_only", "theme"):  # not a provider, or not a section
        with pytest.raises(KeyError):
            settings.section(missing)
