"""The ``gavel`` command: run, demo, console, sandbox, db, keygen, doctor, discord-sync."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot.core.config import SettingsError, load_settings


def _fail(message: str, code: int = 2) -> int:
    print(f"gavel: {message}", file=sys.stderr)
    return code


def cmd_keygen(args: argparse.Namespace) -> int:
    from storage.crypto import generate_key

    print(generate_key())
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from storage.db import downgrade, upgrade

    settings = load_settings()
    if args.action == "upgrade":
        upgrade(settings.database_url, args.revision or "head")
    else:
        downgrade(settings.database_url, args.revision or "-1")
    print(f"database {args.action}d")
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from bot.wiring.app import run_sandbox_forever

    asyncio.run(run_sandbox_forever(args.cryptogig_port, args.auctionity_port, rivals=not args.no_rivals))
    return 0


def _language(wanted: str | None) -> str | None:
    """``--language``: a language Gavel speaks, or None after saying which ones it does."""
    from bot.core import i18n

    if wanted is None or i18n.shipped(wanted) is not None:
        return wanted
    print(
        f"gavel: there is no {wanted[:20]!r} catalogue; Gavel speaks {', '.join(i18n.LANGUAGES)} "
        "(README: Adding a language). Carrying on in the default language.",
        file=sys.stderr,
    )
    return None


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.wiring.app import run_demo

    args.language = _language(args.language)
    return asyncio.run(
        run_demo(
            poll_interval=args.poll_interval, rivals=not args.no_rivals, linger=args.linger, language=args.language
        )
    )


def cmd_console(args: argparse.Namespace) -> int:
    from bot.wiring.app import run_console

    return asyncio.run(run_console(load_settings(), language=_language(args.language)))


def cmd_run(args: argparse.Namespace) -> int:
    from bot.wiring.app import run_bot

    return asyncio.run(run_bot(load_settings()))


def cmd_worker(args: argparse.Namespace) -> int:
    from bot.wiring.app import run_worker

    return asyncio.run(run_worker(load_settings()))


def cmd_doctor(args: argparse.Namespace) -> int:
    from bot.wiring.doctor import doctor

    return asyncio.run(doctor(load_settings()))


def cmd_discord_sync(args: argparse.Namespace) -> int:
    from bot.wiring.app import discord_sync

    return asyncio.run(discord_sync(load_settings()))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gavel", description="Gavel: CryptoGig and Auctionity from chat.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run every adapter whose token is set, with the alert scheduler").set_defaults(
        func=cmd_run
    )
    demo = commands.add_parser("demo", help="the sandbox and a terminal chat on a throw-away database")
    demo.add_argument("--poll-interval", type=int, default=5, help="seconds between auction polls (default 5)")
    demo.add_argument("--no-rivals", action="store_true", help="no simulated rival bidders")
    demo.add_argument("--linger", type=float, default=0.0, help="seconds to keep running after piped input ends")
    demo.add_argument("--language", help="the language your chat app would say you read: en, es, ru")
    demo.set_defaults(func=cmd_demo)
    commands.add_parser(
        "worker", help="the poller, auto-bids, re-checks and alerts only (no chat updates); run any number"
    ).set_defaults(func=cmd_worker)
    console = commands.add_parser("console", help="a terminal chat against the configured APIs")
    console.add_argument("--language", help="the language your chat app would say you read: en, es, ru")
    console.set_defaults(func=cmd_console)
    sandbox = commands.add_parser("sandbox", help="serve the simulated CryptoGig and Auctionity APIs")
    sandbox.add_argument("--cryptogig-port", type=int, default=8701)
    sandbox.add_argument("--auctionity-port", type=int, default=8702)
    sandbox.add_argument("--no-rivals", action="store_true")
    sandbox.set_defaults(func=cmd_sandbox)
    db = commands.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "downgrade"])
    db.add_argument("revision", nargs="?")
    db.set_defaults(func=cmd_db)
    commands.add_parser("keygen", help="print a new GAVEL_SECRET_KEY").set_defaults(func=cmd_keygen)
    commands.add_parser("doctor", help="check settings and reach each upstream").set_defaults(func=cmd_doctor)
    commands.add_parser("discord-sync", help="sync Discord's slash commands now").set_defaults(func=cmd_discord_sync)
    return parser


def _redact_everything() -> None:
    """Route every way out of the process through the redacting log handler, with every secret known.

    Commands set up logging again with their own level; this makes sure that an error escaping before
    or after that (PTB's InvalidToken names the token, a URL may carry the API key) is redacted too.
    """
    from bot.core.logs import setup_logging

    try:
        secrets = load_settings().secrets()
    except SettingsError:
        secrets = []
    setup_logging("WARNING", secrets=secrets)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command not in ("keygen",):
        _redact_everything()
    try:
        return args.func(args)
    except SettingsError as error:
        return _fail(str(error))
    except KeyboardInterrupt:
        return 130
    except Exception:
        # Never Python's own traceback printer: it would write the token or key in the clear.
        logging.getLogger("gavel").critical("gavel %s stopped on an unexpected error", args.command, exc_info=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
