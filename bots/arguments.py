"""The ``knowrithm-bots`` argument parser: subcommands, their help, and checked values."""

from __future__ import annotations

import argparse
import ipaddress
import math
import re
from collections.abc import Callable
from typing import NoReturn

from knowrithm_bots import __version__

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_PORT = 8765
DEFAULT_HOST = "127.0.0.1"
DEFAULT_WORD_DELAY = 0.04
# Beyond this the local agent's answers would outlast the Knowrithm client's read timeout.
MAX_WORD_DELAY = 10.0

_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")

EXIT_STATUSES = """\
exit status:
  0    done: end of input, /quit, or stopped by SIGTERM
  2    a bad argument or config file, or Knowrithm or a platform refused to start,
       or a platform ended an adapter for good while it ran (a supervisor restarts it)
  130  interrupted by Ctrl-C (at any moment, also mid-answer)
"""


DOCTOR_EXIT_STATUSES = """\
exit status:
  0    nothing blocks the bot (warnings may be listed)
  1    a finding blocks the bot: it would not start, or would miss what it should answer
  2    a bad argument or config file
"""


class Parser(argparse.ArgumentParser):
    """Reports a bad argument as one line on stderr, never a usage block, and exits 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Help(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Descriptions kept as written; every option that has a default shows it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help  # "(default: None)" or a flag's "False" tells the reader nothing
        return super()._get_help_string(action)


def whole_number(*, least: int, most: int, what: str) -> Callable[[str], int]:
    """A whole number from ``least`` to ``most``; ``what`` names it in the refusal."""

    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            value = least - 1
        if not least <= value <= most:
            raise argparse.ArgumentTypeError(f"must be {what} from {least} to {most}, not {text!r}")
        return value

    return parse


# A TCP port to listen on; 0 lets the system pick a free one.
port = whole_number(least=0, most=65535, what="a port number")
# How many words the local agent answers with, for load tests.
answer_words = whole_number(least=1, most=100_000, what="a whole number")


def seconds(*, most: float) -> Callable[[str], float]:
    """A delay in seconds, from 0 to ``most``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not 0 <= value <= most:  # also refuses nan
            raise argparse.ArgumentTypeError(
                f"must be a number of seconds from 0 to {most:g}, not {text!r}"
            )
        return value

    return parse


def host(text: str) -> str:
    """An IP address or a host name (checked for form only; binding tells whether it is ours)."""
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    labels = text.removesuffix(".").split(".")
    # An all-digit last label is a mistyped IP address (999.1.1.1), not a name.
    if len(text) <= 253 and all(_LABEL.match(p) for p in labels) and not labels[-1].isdigit():
        return text
    raise argparse.ArgumentTypeError(
        f"{text!r} is not an IP address or host name such as 127.0.0.1, ::1 or localhost"
    )


def build_parser() -> Parser:
    parser = Parser(
        prog="knowrithm-bots",
        description="Put a Knowrithm AI agent into Slack, Discord, Telegram and the terminal.",
        epilog=EXIT_STATUSES,
        formatter_class=_Help,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _logging_options(parser, default=None)
    # Also accepted after the subcommand; SUPPRESS keeps an earlier value from being reset.
    common = Parser(add_help=False)
    _logging_options(common, default=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, summary: str, description: str, epilog: str = EXIT_STATUSES
    ) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=summary,
            description=description,
            epilog=epilog,
            formatter_class=_Help,
            parents=[common],
        )

    demo = command(
        "demo",
        "chat in the terminal with a local agent (no account needed)",
        "Chat in this terminal with a local Knowrithm-compatible agent that runs inside the\n"
        "command: no account and no config file. Its answers stream in word by word and show\n"
        "that it saw your question. /help lists the chat commands; /quit, Ctrl-D or Ctrl-C\n"
        "leave (Ctrl-C at once, even mid-answer).",
    )
    demo.add_argument(
        "--word-delay",
        type=seconds(most=MAX_WORD_DELAY),
        default=DEFAULT_WORD_DELAY,
        metavar="SECONDS",
        help="pause between the words of an answer",
    )

    run = command(
        "run",
        "run one or more adapters from a config file",
        "Run the adapters named (console, telegram, slack, discord or an installed plugin) in\n"
        "one process sharing one store, each configured by its section under adapters: in the\n"
        "config file. Ctrl-C (or SIGTERM) stops taking messages and lets the answers in\n"
        "progress finish; a second Ctrl-C quits at once. With the console adapter, Ctrl-C\n"
        "quits at once.",
    )
    run.add_argument("adapters", nargs="+", metavar="ADAPTER", help="the adapters to run, by name")
    run.add_argument("--config", required=True, metavar="FILE", help="the YAML config file")

    command(
        "adapters",
        "list the adapters that are installed",
        "List the installed adapters: name, the distribution that provides it, its version and\n"
        "its capabilities.",
    )

    check = command(
        "check-config",
        "validate a config file",
        "Validate a config file and the section of every adapter it lists, without connecting\n"
        "to anything. Prints 'FILE is valid' or one sentence naming the key to fix (exit\n"
        "status 2); old names of renamed keys are shown as warnings. With --online, also ask\n"
        "Knowrithm what the bot asks it at start-up.",
    )
    check.add_argument("--config", required=True, metavar="FILE", help="the YAML config file")
    check.add_argument(
        "--online",
        action="store_true",
        help="also check that Knowrithm answers at knowrithm.base_url, accepts the"
        " credentials and knows knowrithm.agent_id (gives up after a few seconds)",
    )

    doctor = command(
        "doctor",
        "check online what would make the configured bot fail silently",
        "Ask Knowrithm and each platform configured under adapters: what the bot would meet\n"
        "in production: Knowrithm's credentials and agent; Telegram's token, a webhook set\n"
        "while polling (or the other way round) and privacy mode against group_mode; Slack's\n"
        "token kinds, granted scopes against those the config needs and the Socket Mode\n"
        "token; Discord's token and the message content intent the application may use.\n"
        "Prints one line per finding (ok, warning or error) with the fix. Changes nothing.",
        epilog=DOCTOR_EXIT_STATUSES,
    )
    doctor.add_argument("--config", required=True, metavar="FILE", help="the YAML config file")

    local = command(
        "local-knowrithm",
        "serve the local Knowrithm-compatible API",
        "Serve the Knowrithm-compatible local API (the demo's agent) over HTTP, to try adapters\n"
        "or SDKs without an account. Prints its URL and fixed development credentials, then\n"
        "serves until Ctrl-C or SIGTERM.",
    )
    local.add_argument(
        "--port",
        type=port,
        default=DEFAULT_PORT,
        help="the TCP port to listen on (0 picks a free one)",
    )
    local.add_argument("--host", type=host, default=DEFAULT_HOST, help="the address to listen on")
    local.add_argument(
        "--word-delay",
        type=seconds(most=MAX_WORD_DELAY),
        default=DEFAULT_WORD_DELAY,
        metavar="SECONDS",
        help="pause between the words of an answer",
    )
    local.add_argument(
        "--answer-words",
        type=answer_words,
        default=None,
        metavar="N",
        help="answer every question with N numbered words (w1 w2 ...) instead of the echo,"
        " for load tests and benchmarks",
    )
    local.add_argument(
        "--documented",
        action="store_true",
        help="behave only as the hosted service is documented: no token deltas, no replay"
        " to a late stream, answers nested without ids, no stream_url",
    )
    return parser


def _logging_options(parser: argparse.ArgumentParser, *, default: object) -> None:
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=default,
        help="how much to log (default: log_level from the config file, else WARNING while "
        "the terminal chat runs and INFO otherwise)",
    )
    parser.add_argument(
        "--log-file",
        default=default,
        metavar="FILE",
        help="append the log to FILE instead of writing it to stderr",
    )
