"""``stopline`` with a sub-command: the command line. Without one: the console."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from tui import __version__
from tui.cli import exit_codes
from tui.cli.failure import ensure_logging, fail

log = logging.getLogger("stopline.cli")

EXIT_CODES_HELP = """\
exit codes:
  0  complete (lookup: found)       4  refused by the provider
  1  any other failure              5  not found
  2  bad input or usage             6  outcome unknown: look the order up first
  3  partial                        7  not sent: another attempt holds the order
"""


CONSOLE_FLAGS = frozenset({"--demo", "--read-only"})


class UsageError(Exception):
    """argparse's complaints, raised instead of printed-and-exited so ``run`` owns exits."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> Parser:
    parser = Parser(
        prog="stopline",
        description="Look up and cancel orders across Pattern Hub, OrderMesh, Shoplazza and "
        "Rx-Universe. Without a command, opens the console.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"stopline {__version__}")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="use the embedded sandbox (demo data) even if configured",
    )
    parser.add_argument(
        "--read-only", action="store_true", help="look up only; every cancel action is hidden"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    p = sub.add_parser("lookup", help="find an order in every provider that could hold it")
    p.add_argument("identifier", help="market order ID, order number, tray, PO or order id")
    p.add_argument("--provider", "-p", help="ask only this provider")
    p.add_argument("--json", action="store_true", help="print results as JSON")

    p = sub.add_parser(
        "cancel",
        help="cancel an order, or chosen items of it",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("identifier", help="the order to cancel")
    p.add_argument("--provider", "-p", required=True, help="the provider holding the order")
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

    p = sub.add_parser("config", help="check the configuration")
    p.add_argument("action", choices=["check"], help="check: report every problem at once")

    sub.add_parser("locate", help="print the paths Stopline uses")

    p = sub.add_parser("sandbox", help="serve the simulated order systems on loopback")
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
    return parser


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
        return fail(exit_codes.USAGE, f"{exc} (see stopline --help)")
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
}
