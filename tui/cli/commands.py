"""The ``lookup``, ``cancel``, ``config check``, ``locate`` and ``sandbox`` commands."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from tui.cli import exit_codes
from tui.cli.render import (
    console,
    lines_table,
    lookup_table,
    not_sent_public,
    not_sent_report,
    outcome_report,
    print_json,
    t,
    waiting,
)
from tui.core.domain import (
    CancelRequest,
    ItemSelection,
    LookupState,
)
from tui.core.identifiers import (
    InvalidInput,
    parse_item_spec,
    validate_identifier,
    validate_reason_code,
)
from tui.core.lifecycle import Done, NotSent, Why
from tui.core.providers import registry
from tui.core.vocabulary import plural
from tui.runtime import ACTING_COMMANDS, Runtime, demo_notice, open_runtime, sandbox_config

if TYPE_CHECKING:
    from tui.core.service import StoplineService


@contextmanager
def runtime_for(args: argparse.Namespace) -> Iterator[Runtime]:
    acting = args.command if args.command in ACTING_COMMANDS else None
    runtime = open_runtime(demo=args.demo, read_only=args.read_only, acting=acting)
    try:
        if runtime.demo and not getattr(args, "json", False):
            sys.stderr.write(demo_notice(runtime))
        yield runtime
    finally:
        runtime.close()


def check_provider(key: str | None) -> str | None:
    """A provider's key from ``--provider``: its key or its label, any case; an unknown one
    is refused with a "did you mean" (``shoplaza`` → shoplazza)."""
    if key is None:
        return None
    import difflib

    wanted = key.strip().lower()
    by_name = {k: k for k in registry.provider_keys()}
    by_name.update({label.lower(): k for k, label in registry.labels().items()})
    if wanted in by_name:
        return by_name[wanted]
    known = ", ".join(registry.provider_keys())
    near = difflib.get_close_matches(wanted, list(by_name), n=1, cutoff=0.6)
    hint = f"; did you mean {by_name[near[0]]}?" if near else ""
    raise InvalidInput(f"unknown provider {wanted!r}{hint or ';'} known providers: {known}")


async def lookup(args: argparse.Namespace) -> int:
    identifier = validate_identifier(args.identifier)
    provider = check_provider(args.provider)
    with runtime_for(args) as runtime:
        async with runtime.open_service() as service:
            with waiting(f"looking {identifier} up…"):
                results = await service.lookup_all(identifier, [provider] if provider else None)
    if args.json:
        print_json([{**r.model_dump(mode="json"), "demo": runtime.demo} for r in results])
    else:
        out = console()
        out.print(lookup_table(results))
        lines = lines_table(results)
        if lines is not None:
            out.print()
            out.print(lines)
    if any(r.state is LookupState.FOUND for r in results):
        return exit_codes.OK
    if any(r.state is LookupState.ERROR for r in results):
        return exit_codes.FAILURE
    return exit_codes.NOT_FOUND


def _confirm(request: CancelRequest) -> bool:
    what = (
        f"{plural(len(request.items), 'item')}: " + ", ".join(i.id for i in request.items)
        if request.items
        else "the whole order"
    )
    label = registry.label(request.provider)
    sys.stderr.write(
        f"Cancel {what} of {request.order_id} at {label}?\n  reason: {request.reason}\n"
        "Type 'yes' to send: "
    )
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in {"y", "yes"}


async def cancel(args: argparse.Namespace) -> int:
    provider = check_provider(args.provider)
    assert provider is not None
    items = tuple(ItemSelection(id=i, quantity=q) for i, q in map(parse_item_spec, args.item))
    request = CancelRequest(
        provider=provider,
        order_id=validate_identifier(args.identifier),
        reason=args.reason,
        reason_code=validate_reason_code(args.reason_code),
        items=items,
    )
    if not args.yes and not sys.stdin.isatty():
        raise InvalidInput("refusing to cancel without --yes: there is no terminal to confirm on")
    with runtime_for(args) as runtime:
        async with runtime.open_service() as service:
            request = service.prepare(request)  # bad input fails before the question
            if not args.yes and not _confirm(request):
                sys.stderr.write("stopline: not sent\n")
                return exit_codes.USAGE
            final = await _cancel_with_spinner(service, request, wait=args.wait)
    out = console()
    if isinstance(final, NotSent):
        if args.json:
            print_json({**not_sent_public(final), "demo": runtime.demo})
        else:
            for part in not_sent_report(final):
                out.print(part)
        return not_sent_exit_code(final)
    outcome = final.outcome
    if args.json:
        print_json(
            {
                **outcome.to_public(),
                "sent": True,
                "attempt_id": outcome.attempt_id,
                "demo": runtime.demo,
            }
        )
    else:
        for note in final.notes:
            out.print(t(f"note: {note}", "dim"))
        for part in outcome_report(outcome):
            out.print(part)
    return exit_codes.BY_OUTCOME[outcome.outcome]


async def _cancel_with_spinner(
    service: StoplineService, request: CancelRequest, *, wait: bool
) -> Done | NotSent:
    """The cancel's lifecycle, saying on stderr (a terminal only) what it is waiting for."""
    from tui.core.lifecycle import Answered, Done, Sending, Updated

    label = registry.label(request.provider)
    timeout = service.settings.section(request.provider).timeout_s
    final: Done | NotSent | None = None
    with waiting(f"looking order {request.order_id} up at {label} before sending…") as status:
        async for event in service.cancel_events(request, confirm=wait):
            if isinstance(event, Sending):
                status.update(
                    f"cancelling at {label}: waiting for its answer (unknown after "
                    f"{timeout:g} s)…"
                )
            elif isinstance(event, Answered | Updated) and wait:
                status.update(f"initiated at {label}: waiting for it to confirm…")
            elif isinstance(event, Done | NotSent):
                final = event
    assert final is not None, "the lifecycle ends with Done or NotSent"
    return final


def not_sent_exit_code(final: NotSent) -> int:
    """7 when another attempt holds the order; an earlier attempt's outcome decides when it
    settled the order; 0 when it is cancelled already; 5 not found; 1 no look-up."""
    if final.held:
        return exit_codes.HELD
    if final.why is Why.ALREADY_CANCELLED:
        return exit_codes.OK
    if final.outcome is not None:
        return exit_codes.BY_OUTCOME[final.outcome.outcome]
    return exit_codes.FAILURE


def config_check() -> int:
    from tui.core.config_check import check_config
    from tui.core.settings import config_path

    out = console()
    report = check_config()
    if not report.ok or report.settings is None:
        out.print(t(f"{config_path()}: {plural(len(report.problems), 'problem')}", "bold red"))
        for problem in report.problems:
            out.print(t(f"  - {problem}"))
        return exit_codes.USAGE
    settings = report.settings
    enabled = settings.enabled_providers()
    out.print(t(f"{config_path()}: OK", "bold green"))
    for key, section in settings.providers().items():
        state = (
            f"enabled ({section.resolved_environment()}) {section.base_url}"
            if section.enabled
            else "not configured"
        )
        out.print(t(f"  {registry.label(key):<12} {state}"))
    if not enabled:
        out.print(
            t(
                "  no provider configured: lookup and the console use the demo sandbox; "
                "cancel and batch refuse unless given --demo",
                "yellow",
            )
        )
    return exit_codes.OK


def locate() -> int:
    from tui.core.console_state import state_path
    from tui.core.logs import LOG_NAME
    from tui.core.settings import config_path, settings_class

    try:
        settings = settings_class()()
    except Exception:  # locate must answer even when the config is broken
        settings = settings_class().model_construct()
    out = console()
    data_dir = settings.resolved_data_dir()
    rows: list[tuple[str, object]] = [
        ("config", config_path()),
        ("data", data_dir),
        ("journal", data_dir / "journal.sqlite3"),
        ("demo journal", data_dir / "demo" / "journal.sqlite3"),
        ("log", settings.resolved_log_dir() / LOG_NAME),
        ("themes", config_path().parent / "themes"),
        ("console state", state_path()),
    ]
    if settings.journal_url is not None:
        from tui.core.journal.postgres import redacted_url

        rows.insert(2, ("shared journal", redacted_url(settings.journal_url.get_secret_value())))
    for name, path in rows:
        out.print(t(f"{name:<14} {path}"), soft_wrap=True)
    return exit_codes.OK


def serve_sandbox(args: argparse.Namespace) -> int:
    from tui.sandbox import SandboxConfig, SandboxServer
    from tui.sandbox.config import PROVIDERS

    config = sandbox_config(SandboxConfig.from_env())
    updates: dict[str, object] = {}
    if args.seed is not None:
        updates["seed"] = args.seed
    if args.latency_ms is not None:
        if args.latency_ms < 0:
            raise InvalidInput("--latency-ms must be zero or more")
        updates["latency_ms"] = {key: args.latency_ms for key in PROVIDERS}
    if args.faults:
        updates["faults"] = SandboxConfig.parse_faults(args.faults)
    if updates:
        config = config.model_copy(update=updates)
    if not 0 <= args.port <= 65535:
        raise InvalidInput("--port must be between 0 and 65535")
    server = SandboxServer(config, port=args.port)
    try:
        root = server.start()
    except OSError as exc:
        raise InvalidInput(f"cannot listen on port {args.port}: {exc.strerror or exc}") from None
    out = console()
    out.print(t(f"Stopline sandbox (demo data) serving on {root}", "bold"))
    out.print(t("Point Stopline at it with:"))
    for name, value in server.settings_env().items():
        out.print(t(f"  export {name}={shlex.quote(value)}"))
    out.print(t("Orders to try:"))
    for simulator in server.sandbox.simulators:
        for ident, what in simulator.SHOWCASE:
            out.print(t(f"  {registry.label(simulator.KEY):<12} {ident:<26} {what}"))
    out.print(t("ctrl-c to stop"), style="dim")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return exit_codes.OK
