"""The ``knowrithm-bots`` command: demo, run, adapters, check-config, local-knowrithm."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys
from collections.abc import Sequence

from knowrithm_bots.core.config import Settings, adapter_config, load_settings, parse_settings
from knowrithm_bots.core.errors import ConfigError, KnowrithmBotsError
from knowrithm_bots.core.plugins import discover, load_adapter


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="knowrithm-bots",
        description="Put a Knowrithm AI agent into Slack, Discord, Telegram and the terminal.",
    )
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING or ERROR")
    # Also accepted after the subcommand; SUPPRESS keeps an earlier value from being reset.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--log-level", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=summary, parents=[common])

    demo = command("demo", "chat in the terminal with a local agent (no account needed)")
    demo.add_argument("--word-delay", type=float, default=0.04, help="seconds between words")

    run = command("run", "run one or more adapters from a config file")
    run.add_argument("adapters", nargs="+", metavar="ADAPTER")
    run.add_argument("--config", required=True, metavar="FILE")

    command("adapters", "list the adapters that are installed")

    check = command("check-config", "validate a config file")
    check.add_argument("--config", required=True, metavar="FILE")

    local = command("local-knowrithm", "serve the local Knowrithm-compatible API")
    local.add_argument("--port", type=int, default=8765)
    local.add_argument("--host", default="127.0.0.1")
    local.add_argument("--word-delay", type=float, default=0.04)
    return parser


def _setup_logging(level: str) -> None:
    if logging.getLogger().handlers:
        return  # something (an embedding program, a test runner) already set logging up
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if level.upper() != "DEBUG":
        # httpx logs every request at INFO: noise at best, a token in the URL at worst.
        logging.getLogger("httpx").setLevel(logging.WARNING)


async def _demo(word_delay: float) -> None:
    from knowrithm_bots.adapters.console import ConsoleAdapter
    from knowrithm_bots.bots.runner import install_signal_handlers, run_configured

    settings = parse_settings({"store": {"backend": "memory"}}, env={})
    stop = asyncio.Event()
    install_signal_handlers(stop)
    await run_configured(
        settings=settings,
        adapters={"console": ConsoleAdapter()},
        word_delay=word_delay,
        first_token_delay=min(0.4, word_delay * 10),
        stop=stop,
    )


async def _run(settings: Settings, names: Sequence[str]) -> None:
    from knowrithm_bots.bots.runner import build_adapters, install_signal_handlers, run_configured

    adapters = build_adapters(settings, names=names)
    stop = asyncio.Event()
    install_signal_handlers(stop)
    await run_configured(settings=settings, adapters=adapters, stop=stop)


async def _local_knowrithm(*, host: str, port: int, delay: float) -> None:
    from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm

    server = LocalKnowrithm(host=host, port=port, word_delay=delay)
    try:
        await server.start()
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror}): try another --port"
        ) from None
    try:
        # These are the local server's fixed development credentials, not secrets.
        print(
            f"Local Knowrithm API on {server.base_url}\n"
            f"  knowrithm: {{base_url: {server.base_url}, api_key: {server.api_key}, "
            f"api_secret: {server.api_secret}, agent_id: {server.agent_id}}}",
            flush=True,
        )
        await asyncio.Event().wait()
    finally:
        await server.stop()


def _check_config(path: str) -> str:
    from knowrithm_bots.bots.runner import remote_endpoint

    settings = load_settings(path)
    if not settings.knowrithm.is_local:
        remote_endpoint(settings)
    for name in settings.adapters:
        load_adapter(name).from_config(config=adapter_config(settings, name=name))
    names = ", ".join(settings.adapters) or "none"
    return f"{path} is valid (knowrithm: {settings.knowrithm.base_url}; adapters: {names})"


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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config) if args.command == "run" else None
    except KnowrithmBotsError as exc:
        print(f"knowrithm-bots: {exc}", file=sys.stderr)
        return 2
    configured = settings.log_level if settings is not None else None
    level = args.log_level or configured or ("WARNING" if args.command == "demo" else "INFO")
    try:
        _setup_logging(level)
    except ValueError:
        print(f"knowrithm-bots: unknown log level {args.log_level!r}", file=sys.stderr)
        return 2
    try:
        if args.command == "demo":
            asyncio.run(_demo(args.word_delay))
        elif settings is not None:
            asyncio.run(_run(settings, args.adapters))
        elif args.command == "adapters":
            print(_list_adapters())
        elif args.command == "check-config":
            print(_check_config(args.config))
        elif args.command == "local-knowrithm":
            asyncio.run(_local_knowrithm(host=args.host, port=args.port, delay=args.word_delay))
    except KnowrithmBotsError as exc:
        print(f"knowrithm-bots: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, asyncio.CancelledError):
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
