"""``stopline`` with a sub-command: the command line. Without one: the console."""

from __future__ import annotations

import argparse
import asyncio
import difflib
import logging
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from tui import __version__
from tui.cli import exit_codes
from tui.cli.failure import ensure_logging, fail

log = logging.getLogger("stopline.cli")

EXIT_CODES_HELP = exit_codes.epilog(
    *exit_codes.OUTCOME_CODES,
    note="each command's --help lists its own (stopline COMMAND --help)",
)
CANCEL_CODES = exit_codes.epilog(*exit_codes.OUTCOME_CODES)

CONSOLE_FLAGS = frozenset({"--demo", "--read-only"})
GLOBAL_FLAGS = (
    ("--demo", "use the embedded sandbox (demo data) even if configured"),
    ("--read-only", "look up only; every cancel action is refused or hidden"),
)


class UsageError(Exception):
    """argparse's complaints, raised instead of printed-and-exited so ``run`` owns exits;
    ``prog`` is the command whose help explains it (``stopline cancel``)."""

    def __init__(self, message: str, prog: str) -> None:
        super().__init__(message)
        self.prog = prog


class Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self.prog)

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        """As argparse's, but an argument no command takes is blamed on the command given
        (``stopline journal migrate --nope`` points to that command's help)."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            raise UsageError(f"unrecognized arguments: {' '.join(extras)}", _given(self, parsed))
        return parsed

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        """argparse's "invalid choice", with a "did you mean" (``lokup`` → lookup)."""
        choices = action.choices
        if choices is not None and value not in choices:
            names = [str(choice) for choice in choices]
            near = difflib.get_close_matches(str(value), names, n=1, cutoff=0.6)
            hint = f"; did you mean {near[0]}?" if near else ""
            raise argparse.ArgumentError(
                action,
                f"invalid choice: {value!r}{hint} (choose from {', '.join(names)})",
            )


def _given(parser: argparse.ArgumentParser, parsed: argparse.Namespace) -> str:
    """The ``prog`` of the deepest command named in ``parsed``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            child = action.choices.get(getattr(parsed, action.dest, None) or "")
            if child is not None:
                return _given(child, parsed)
    return parser.prog


def _subcommand(
    sub: Any, name: str, help_text: str, codes: str, description: str | None = None
) -> Parser:
    """A command with its own help: its description (paragraphs wrapped; indented lines kept
    as they are) and its exit codes."""
    text = description or help_text[0].upper() + help_text[1:] + "."
    paragraphs = [
        part if part.startswith(" ") else textwrap.fill(part, 88) for part in text.split("\n\n")
    ]
    parser: Parser = sub.add_parser(
        name, help=help_text, description="\n\n".join(paragraphs), epilog=codes
    )
    return parser


def build_parser() -> Parser:
    parser = Parser(
        prog="stopline",
        description="Look up and cancel orders across Pattern Hub, OrderMesh, Shoplazza and "
        "Rx-Universe. Without a command, opens the console.",
        epilog=EXIT_CODES_HELP,
    )
    parser.add_argument("--version", action="version", version=f"stopline {__version__}")
    for flag, help_text in GLOBAL_FLAGS:
        parser.add_argument(flag, action="store_true", help=help_text)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    p = _subcommand(
        sub,
        "lookup",
        "find an order in every provider that could hold it",
        exit_codes.epilog(
            (exit_codes.OK, "found"),
            (exit_codes.FAILURE, "a provider failed and nothing was found"),
            exit_codes.BAD_USAGE,
            (exit_codes.NOT_FOUND, "not found anywhere"),
        ),
    )
    p.add_argument("identifier", help="market order ID, order number, tray, PO or order id")
    p.add_argument("--provider", "-p", help="ask only this provider", metavar="PROVIDER")
    p.add_argument("--json", action="store_true", help="print results as JSON")

    p = _subcommand(sub, "cancel", "cancel an order, or chosen items of it", CANCEL_CODES)
    p.add_argument("identifier", help="the order to cancel")
    p.add_argument(
        "--provider", "-p", required=True, help="the provider holding the order",
        metavar="PROVIDER",
    )
    p.add_argument("--reason", "-r", required=True, help="why (free text, or a lab reason code)")
    p.add_argument("--reason-code", help="the provider's reason code, where it uses codes")
    p.add_argument(
        "--item",
        action="append",
        default=[],
        metavar="ID[=QTY]",
        help="cancel only this item (repeatable); QTY defaults to all that is open",
    )
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument(
        "--wait", action="store_true", help="for asynchronous providers, wait for confirmation"
    )
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")

    config = _subcommand(
        sub,
        "config",
        "check the configuration",
        exit_codes.epilog(
            (exit_codes.OK, "no problem found"),
            (exit_codes.USAGE, "problems found (each named with its source), or bad usage"),
        ),
    )
    actions = config.add_subparsers(
        dest="config_action", metavar="ACTION", required=True, parser_class=Parser
    )
    _subcommand(
        actions,
        "check",
        "report every configuration problem at once",
        exit_codes.epilog(
            (exit_codes.OK, "no problem found"),
            (exit_codes.USAGE, "problems found (each named with its source)"),
        ),
        description="Read the configuration (environment, then the TOML file, then the "
        "defaults) and report every problem at once, each with its source — the variable, "
        "or the file and key — including the theme name and the [keymap].",
    )

    _subcommand(
        sub,
        "locate",
        "print the paths Stopline uses",
        exit_codes.epilog((exit_codes.OK, "printed")),
        description="Print the config file, data, journal, log, theme and console-state "
        "paths in use.",
    )

    p = _subcommand(
        sub,
        "sandbox",
        "serve the simulated order systems on loopback",
        exit_codes.epilog(
            (exit_codes.OK, "stopped with ctrl-c"),
            (exit_codes.USAGE, "bad usage (a bad port, fault rule or latency)"),
        ),
    )
    p.add_argument("--port", type=int, default=8787, help="port to listen on (0 = any free)")
    p.add_argument("--latency-ms", type=int, default=None, help="added latency per request")
    p.add_argument(
        "--faults", default=None, help="fault rules, e.g. pattern:timeout:cancel,shoplazza:error"
    )
    p.add_argument("--seed", type=int, default=None, help="demo data seed")

    from tui.cli import batch_cmd, history_cmd, journal_cmd

    history_cmd.add_parser(sub)
    batch_cmd.add_parser(sub)
    journal_cmd.add_parser(sub)

    p = _subcommand(
        sub,
        "completion",
        "print a shell completion script (bash or zsh)",
        exit_codes.epilog((exit_codes.OK, "printed"), (exit_codes.USAGE, "an unknown shell")),
        description="Print a completion script for your shell, generated from this "
        "command line. Install it with, e.g.:\n\n"
        "  stopline completion bash > ~/.local/share/bash-completion/completions/stopline\n"
        "  stopline completion zsh > \"${fpath[1]}/_stopline\"",
    )
    p.add_argument("shell", choices=["bash", "zsh"], help="the shell to complete in")
    _global_flags_everywhere(parser)
    return parser


def _global_flags_everywhere(parser: argparse.ArgumentParser) -> None:
    """``--demo`` and ``--read-only`` are accepted after the command too (``stopline cancel
    … --demo``), as gh and kubectl take their global flags anywhere."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                known = {opt for a in child._actions for opt in a.option_strings}
                for flag, help_text in GLOBAL_FLAGS:
                    if flag not in known:
                        child.add_argument(
                            flag, action="store_true", default=argparse.SUPPRESS, help=help_text
                        )
                _global_flags_everywhere(child)


def run(argv: Sequence[str] | None = None) -> int:
    """Parse, dispatch and map every failure to a documented exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if set(args_list) <= CONSOLE_FLAGS:
        # The console: start it before anything the first frame does not need is imported.
        from tui.cli.console_cmd import run_console

        return run_console(demo="--demo" in args_list, read_only="--read-only" in args_list)

    from tui.core.errors import ProviderError
    from tui.core.identifiers import InvalidInput
    from tui.core.journal import JournalError
    from tui.core.settings import ConfigError

    try:
        args = build_parser().parse_args(args_list)
    except UsageError as exc:
        return fail(exit_codes.USAGE, f"{exc} (see {exc.prog} --help)")
    if args.command is None:  # reached only with flags the console does not take
        return fail(exit_codes.USAGE, "give a command, or no argument for the console")
    command = COMMANDS[args.command]
    try:
        return command(args)
    except InvalidInput as exc:
        return fail(exit_codes.USAGE, str(exc))
    except ConfigError as exc:
        return fail(exit_codes.USAGE, "configuration problems:\n  " + "\n  ".join(exc.problems))
    except ProviderError as exc:
        return fail(exit_codes.FAILURE, f"{exc.provider}: {exc.message}")
    except JournalError as exc:
        return fail(exit_codes.FAILURE, f"journal: {exc}")
    except KeyboardInterrupt:
        return fail(130, "interrupted")
    except Exception as exc:
        ensure_logging()
        log.exception("unexpected failure in %s", args.command)
        return fail(
            exit_codes.FAILURE,
            f"unexpected failure: {type(exc).__name__} (details in the log; stopline locate)",
        )


def _lookup(args: argparse.Namespace) -> int:
    from tui.cli.commands import lookup

    return asyncio.run(lookup(args))


def _cancel(args: argparse.Namespace) -> int:
    from tui.cli.commands import cancel

    return asyncio.run(cancel(args))


def _config(args: argparse.Namespace) -> int:
    from tui.cli.commands import config_check

    return config_check()


def _completion(args: argparse.Namespace) -> int:
    import shtab

    sys.stdout.write(shtab.complete(build_parser(), shell=args.shell))
    return exit_codes.OK


def _locate(args: argparse.Namespace) -> int:
    from tui.cli.commands import locate

    return locate()


def _sandbox(args: argparse.Namespace) -> int:
    from tui.cli.commands import serve_sandbox

    return serve_sandbox(args)


def _history(args: argparse.Namespace) -> int:
    from tui.cli.history_cmd import run

    return run(args)


def _batch(args: argparse.Namespace) -> int:
    from tui.cli.batch_cmd import run

    return run(args)


def _journal(args: argparse.Namespace) -> int:
    from tui.cli.journal_cmd import run

    return run(args)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "lookup": _lookup,
    "cancel": _cancel,
    "config": _config,
    "locate": _locate,
    "sandbox": _sandbox,
    "history": _history,
    "batch": _batch,
    "journal": _journal,
    "completion": _completion,
}
