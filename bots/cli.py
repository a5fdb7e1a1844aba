"""The ``knowrithm-bots`` command: demo, run, adapters, check-config, doctor, local-knowrithm."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import errno
import logging
import socket
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TextIO

from knowrithm_bots.bots.arguments import build_parser
from knowrithm_bots.bots.doctor import run_doctor
from knowrithm_bots.bots.lead_check import check_lead_emails
from knowrithm_bots.bots.runner import (
    INTERRUPTED,
    StopSignals,
    build_adapters,
    check_configured_endpoint,
    remote_endpoint,
    run_configured,
)
from knowrithm_bots.core.config import (
    ConfigKeyDeprecated,
    Settings,
    adapter_config,
    load_settings,
    parse_settings,
)
from knowrithm_bots.core.errors import ConfigError, KnowrithmBotsError
from knowrithm_bots.core.plugins import discover, load_adapter

CHAT_ADAPTER = "console"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit status (see ``arguments.EXIT_STATUSES``)."""
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C before or after the signal handlers were in place
        return INTERRUPTED


def _main(argv: Sequence[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad argument already reported
        return exc.code if isinstance(exc.code, int) else 2
    signals: StopSignals | None = None
    with _deprecations_as_warnings():
        try:
            settings = load_settings(args.config) if args.command == "run" else None
            _setup_logging(level=_log_level(args, settings), file=args.log_file)
            if args.command == "demo":
                signals = StopSignals(interrupt_quits=True)
                asyncio.run(_demo(word_delay=args.word_delay, signals=signals))
            elif args.command == "run":
                assert settings is not None
                names = list(dict.fromkeys(args.adapters))
                signals = StopSignals(interrupt_quits=CHAT_ADAPTER in names)
                asyncio.run(_run(settings, names=names, signals=signals))
            elif args.command == "adapters":
                print(_list_adapters())
            elif args.command == "check-config":
                print(_check_config(args.config, online=args.online))
            elif args.command == "doctor":
                report, status = run_doctor(path=args.config)
                print(report)
                return status
            elif args.command == "local-knowrithm":
                signals = StopSignals(interrupt_quits=True)
                asyncio.run(
                    _local_knowrithm(
                        host=args.host,
                        port=args.port,
                        delay=args.word_delay,
                        answer_words=args.answer_words,
                        documented=args.documented,
                        signals=signals,
                    )
                )
        except KnowrithmBotsError as exc:
            print(f"knowrithm-bots: {exc}", file=sys.stderr)
            return 2
        except asyncio.CancelledError:  # a signal asked to quit at once
            return signals.exit_status if signals is not None else INTERRUPTED
    return signals.exit_status if signals is not None else 0


def _log_level(args: argparse.Namespace, settings: Settings | None) -> str:
    """Asked for on the command line, else in the config file, else quiet while someone
    chats in this terminal (log lines would land inside the chat)."""
    if args.log_level:
        return str(args.log_level)
    if settings is not None and settings.log_level:
        return settings.log_level
    chatting = args.command == "demo" or (args.command == "run" and CHAT_ADAPTER in args.adapters)
    return "WARNING" if chatting and args.log_file is None else "INFO"


def _setup_logging(*, level: str, file: str | None) -> None:
    root = logging.getLogger()
    if root.handlers:
        return  # something (an embedding program, a test runner) already set logging up
    handler: logging.Handler
    if file is None:
        handler = logging.StreamHandler(sys.stderr)
    else:
        try:
            handler = logging.FileHandler(file, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write the log file {file} ({exc.strerror})") from None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    if level != "DEBUG":
        # httpx logs every request at INFO: noise at best, a token in the URL at worst.
        logging.getLogger("httpx").setLevel(logging.WARNING)


@contextlib.contextmanager
def _deprecations_as_warnings() -> Iterator[None]:
    """Show each renamed config key as one line, ``warning: ...``; other warnings as usual."""
    with warnings.catch_warnings():
        shown = warnings.showwarning

        def show(
            message: Warning | str,
            category: type[Warning],
            filename: str,
            lineno: int,
            file: TextIO | None = None,
            line: str | None = None,
        ) -> None:
            if issubclass(category, ConfigKeyDeprecated):
                print(f"warning: {message}", file=sys.stderr)
            else:
                shown(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        warnings.simplefilter("always", ConfigKeyDeprecated)
        yield


def _on_terminal(adapters: Mapping[str, object]) -> Callable[[str], None] | None:
    """Where the runner says it is waiting for answers: stderr, when a person watches it and
    no terminal chat would be cut by the line."""
    if CHAT_ADAPTER in adapters or not sys.stderr.isatty():
        return None
    return lambda text: print(f"\n{text}", file=sys.stderr, flush=True)


async def _demo(*, word_delay: float, signals: StopSignals) -> None:
    from knowrithm_bots.adapters.console import ConsoleAdapter

    signals.install()
    settings = parse_settings({"store": {"backend": "memory"}}, env={})
    await run_configured(
        settings=settings,
        adapters={CHAT_ADAPTER: ConsoleAdapter()},
        word_delay=word_delay,
        first_token_delay=min(0.4, word_delay * 10),
        stop=signals.stop,
    )


async def _run(settings: Settings, *, names: Sequence[str], signals: StopSignals) -> None:
    signals.install()
    adapters = build_adapters(settings, names=names)
    await run_configured(
        settings=settings,
        adapters=adapters,
        stop=signals.stop,
        announce=_on_terminal(adapters),
        waiting=_say_waiting,
    )


def _say_waiting(line: str) -> None:
    """What start-up waits for, on stderr: before serving, no chat or log line is cut by it."""
    print(f"knowrithm-bots: {line}", file=sys.stderr, flush=True)


async def _local_knowrithm(
    *,
    host: str,
    port: int,
    delay: float,
    answer_words: int | None,
    documented: bool,
    signals: StopSignals,
) -> None:
    from knowrithm_bots.bots.local_knowrithm import CountingAgent, LocalKnowrithm

    signals.install()
    server = LocalKnowrithm(
        host=host,
        port=port,
        word_delay=delay,
        agent=None if answer_words is None else CountingAgent(words=answer_words),
        mode="documented" if documented else "streaming",
    )
    try:
        await server.start()
    except OSError as exc:
        raise _cannot_listen(exc, host=host, port=port) from None
    try:
        # These are the local server's fixed development credentials, not secrets.
        print(
            f"Local Knowrithm API on {server.base_url}\n"
            f"  knowrithm: {{base_url: {server.base_url}, api_key: {server.api_key}, "
            f"api_secret: {server.api_secret}, agent_id: {server.agent_id}}}",
            flush=True,
        )
        await signals.stop.wait()
    finally:
        await server.stop()


def _cannot_listen(exc: OSError, *, host: str, port: int) -> ConfigError:
    """One sentence saying why ``host:port`` cannot be bound and which option to change."""
    where = f"cannot listen on {host} port {port}"
    if isinstance(exc, socket.gaierror):
        reason = "the name does not resolve to an address; try --host 127.0.0.1"
    elif exc.errno == errno.EADDRINUSE:
        reason = "the port is in use; try another --port (0 picks a free one)"
    elif exc.errno == errno.EADDRNOTAVAIL:
        reason = "that is not an address of this machine; try --host 127.0.0.1"
    elif exc.errno == errno.EACCES:
        reason = "ports below 1024 need administrator rights; try a --port above 1023"
    else:
        reason = f"{exc.strerror or exc}; try another --host or --port"
    return ConfigError(f"{where}: {reason}")


def _check_config(path: str, *, online: bool = False) -> str:
    settings = load_settings(path)
    if not settings.knowrithm.is_local:
        remote_endpoint(settings)
    for name in settings.adapters:
        _validate_section(name, section=adapter_config(settings, name=name))
    for warning in check_lead_emails(settings):
        print(f"warning: {warning}", file=sys.stderr)
    names = ", ".join(settings.adapters) or "none"
    valid = f"{path} is valid (knowrithm: {settings.knowrithm.base_url}; adapters: {names})"
    if not online:
        return valid
    return f"{valid}\n{asyncio.run(_check_online(settings))}"


async def _check_online(settings: Settings) -> str:
    """Ask Knowrithm what the bot asks it at start-up; the sentence saying it answered."""
    base_url, agent = await check_configured_endpoint(settings, waiting=_say_waiting)
    named = f" ({agent.name})" if agent.name else ""
    return (
        f"Knowrithm at {base_url} answered, accepted the credentials and knows "
        f"the agent {agent.id}{named}"
    )


def _validate_section(name: str, *, section: Mapping[str, Any]) -> None:
    """Validate an adapter's section with its config model, without building the adapter;
    an adapter without one is built (``from_config`` does no I/O)."""
    cls = load_adapter(name)
    if cls.config_model is not None:
        cls.config_model.load(section, prefix=f"adapters.{name}")
    else:
        cls.from_config(config=section)


def _list_adapters() -> str:
    rows = []
    for name, infos in sorted(discover().items()):
        for info in infos:
            caps = _capabilities(name) if len(infos) == 1 else "(registered twice)"
            rows.append((name, info.distribution, info.version, caps))
    if not rows:
        return "no adapters installed"
    widths = [
        max(len(r[i]) for r in [("NAME", "DISTRIBUTION", "VERSION", ""), *rows]) for i in range(3)
    ]
    lines = [
        f"{n:<{widths[0]}}  {d:<{widths[1]}}  {v:<{widths[2]}}  {c}"
        for n, d, v, c in [("NAME", "DISTRIBUTION", "VERSION", "CAPABILITIES"), *rows]
    ]
    return "\n".join(lines)


def _capabilities(name: str) -> str:
    try:
        cls = load_adapter(name)
    except KnowrithmBotsError as exc:
        return f"(unavailable: {exc})"
    caps = cls.capabilities
    flags = [f.name for f in dataclasses.fields(caps) if getattr(caps, f.name)]
    return ", ".join(flags) + f"; max {cls.limits.max_message_length:,} chars"


if __name__ == "__main__":
    sys.exit(main())
