"""What a front end needs before it can act: settings, the demo sandbox when nothing is
configured, the journal, and the service built on them. Shared by the CLI and the console."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.core.identifiers import InvalidInput
from tui.core.settings import Settings, load_settings, settings_class

if TYPE_CHECKING:
    from tui.core.journal import AttemptJournal
    from tui.core.service import StoplineService
    from tui.sandbox import SandboxConfig, SandboxServer


def open_journal(settings: Settings, *, demo: bool = False) -> AttemptJournal:
    """The journal the settings name: the floor's shared one on PostgreSQL when
    ``journal_url`` is set (it connects on first use), else the local SQLite file in the
    data folder. Demo attempts always go to the local demo journal, never the floor's."""
    if settings.journal_url is not None and not demo:
        from tui.core.journal.postgres import PostgresJournal

        return PostgresJournal(settings.journal_url.get_secret_value())
    from tui.core.journal import SqliteJournal

    return SqliteJournal.open(settings.journal_path())


ACTING_COMMANDS = frozenset({"cancel", "batch"})
"""Commands that cancel: they never fall back to the demo sandbox unasked."""


def demo_notice(runtime: Runtime) -> str:
    """The line a command prints (on stderr) when the sandbox answers."""
    where = runtime.sandbox.root_url if runtime.sandbox else "loopback"
    why = "no provider is configured" if not runtime.forced_demo else "--demo"
    return f"stopline: DEMO DATA — {why}, using the embedded sandbox at {where}\n"


def env_to_overrides(env: dict[str, str]) -> dict[str, Any]:
    """``STOPLINE_PATTERN__BASE_URL=…`` style variables as nested settings arguments, read as
    the environment is (JSON tables decoded, table keys kept as written)."""
    from tui.core.config_sources import read_env

    return read_env(settings_class(), env).data


@dataclass
class Runtime:
    settings: Settings
    demo: bool = False
    """The sandbox answers (``--demo``, or no provider configured)."""
    forced_demo: bool = False
    sandbox: SandboxServer | None = None
    log_path: Path | None = None
    _closers: list[Any] = field(default_factory=list)

    def open_service(self, **http: Any) -> StoplineService:
        """The service, owning its providers' clients and the journal (closed with it)."""
        from tui.core.service import StoplineService

        return StoplineService.from_settings(
            self.settings, journal=open_journal(self.settings, demo=self.demo), **http
        )

    def after_ready(self) -> None:
        """What the first look-up does not wait for, once a front end shows it can look up:
        a deferred demo sandbox starts serving (its address was bound, so a look-up sent
        meanwhile waits in its listen queue rather than failing)."""
        if self.sandbox is not None and not self.sandbox.running:
            self.sandbox.start()

    def close(self) -> None:
        for closer in reversed(self._closers):
            with contextlib.suppress(Exception):
                closer()
        self._closers.clear()
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None


def no_provider_to_act_on(command: str) -> str:
    return (
        f"no provider is configured, so {command} would act on demo orders in the embedded "
        "sandbox, not real ones; configure a provider (stopline config check shows what is "
        f"set), or give --demo (stopline --demo {command} …) to act on the demo sandbox on "
        "purpose"
    )


def sandbox_config(config: SandboxConfig) -> SandboxConfig:
    """``config`` serving the simulators of the registered providers (a provider registered
    with a simulator is in the demo too)."""
    from tui.core.providers import registry

    simulators = [spec.sandbox for spec in registry.specs() if spec.sandbox]
    return config.model_copy(update={"providers": simulators})


def open_runtime(
    *,
    demo: bool = False,
    read_only: bool = False,
    acting: str | None = None,
    defer_sandbox: bool = False,
) -> Runtime:
    """Load settings; start the embedded sandbox when forced or when no provider is set.

    ``defer_sandbox``: only bind its address now; :meth:`Runtime.after_ready` starts it
    (the console, whose provider strip need not wait for the simulators to be built).

    ``acting`` (the name of a command that cancels): the sandbox is never a silent fallback —
    with no provider configured and no ``demo``, :class:`InvalidInput` says so, naming
    ``--demo``.
    Raises :class:`tui.core.settings.ConfigError` listing every problem.
    """
    from tui.core.logs import setup_logging

    overrides: dict[str, Any] = {"read_only": True} if read_only else {}
    settings = load_settings(**overrides)
    sandbox = None
    if acting and not demo and not settings.enabled_providers():
        raise InvalidInput(no_provider_to_act_on(acting))
    if demo or not settings.enabled_providers():
        from tui.sandbox import SandboxConfig, SandboxServer

        sandbox = SandboxServer(sandbox_config(SandboxConfig.from_env()))
        if defer_sandbox:
            sandbox.bind()
        else:
            sandbox.start()
        demo_overrides = env_to_overrides(sandbox.settings_env())
        # Demo attempts never mix with real ones in the journal.
        demo_overrides["data_dir"] = settings.resolved_data_dir() / "demo"
        settings = load_settings(**overrides, **demo_overrides)
    runtime = Runtime(
        settings=settings, demo=sandbox is not None, forced_demo=demo, sandbox=sandbox
    )
    runtime.log_path = setup_logging(settings)
    return runtime
