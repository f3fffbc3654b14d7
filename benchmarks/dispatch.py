"""Dispatch benchmark: 1,000 alerts to 300 Telegram chats through a flood-limiting fake Bot API, Gavel vs a naive loop.

    python benchmarks/dispatch.py [--scale 1] [--messages 1000] [--chats 300] [--groups 30]

Both senders start from the same outbox (a temporary SQLite database, migrated with Alembic) and
talk real HTTP on loopback to benchmarks/fake_telegram.py, which answers 429 whenever Telegram's
limits would be broken. Gavel is the real Dispatcher driving the real TelegramAdapter, run the way
the scheduler runs it (a round every second; a round that overruns skips the ticks it missed). The
naive baseline sends the same rows one after the other with no limiter and only waits after a 429.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import re
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from random import Random
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # a plain script: the repo's packages and benchmarks/ import from the checkout

from sqlalchemy import func  # noqa: E402
from sqlmodel import col, select  # noqa: E402

from benchmarks.fake_telegram import FloodState, create_fake_telegram_app  # noqa: E402
from bot.core.clock import utcnow  # noqa: E402
from bot.core.messages import Reply  # noqa: E402
from bot.core.payloads import decode, encode_reply  # noqa: E402
from bot.sandbox.server import serve_in_thread  # noqa: E402
from storage import outbox  # noqa: E402
from storage.db import create_db_engine, session_scope, upgrade  # noqa: E402
from storage.models import Notification  # noqa: E402

PENDING = (col(Notification.sent_at).is_(None), col(Notification.gave_up).is_(False))

TOKEN = "123456:bench-token-not-a-secret"
TICK_SECONDS = 1.0  # bot/wiring/scheduler.py runs the dispatcher every second
MARKER = re.compile(r"#(bench-\d+)")


@dataclass(frozen=True)
class Workload:
    """Who gets which alert, in outbox order."""

    messages: list[tuple[int, str]]  # (chat id, marker); group ids are negative as on Telegram

    @classmethod
    def build(cls, *, messages: int, chats: int, groups: int, seed: int) -> Workload:
        rng = Random(seed)
        chat_ids = [-(1_001_000_000_000 + n) for n in range(groups)] + [20_000 + n for n in range(chats - groups)]
        # Every chat gets one alert, the rest land at random, so some chats get several in a row.
        targets = chat_ids + [rng.choice(chat_ids) for _ in range(messages - chats)]
        rng.shuffle(targets)
        return cls([(chat_id, f"bench-{n}") for n, chat_id in enumerate(targets)])

    def best_seconds(self, flood: FloodState) -> tuple[float, dict[str, float]]:
        """The shortest time the limits allow for this workload, and the bound each limit sets."""
        per_chat = Counter(chat_id for chat_id, _ in self.messages)
        private = [count for chat_id, count in per_chat.items() if chat_id > 0]
        groups = [count for chat_id, count in per_chat.items() if chat_id < 0]
        bounds = {
            "overall": len(self.messages) / flood.overall_limit,
            "private chain": (max(private, default=1) - 1) * flood.private_interval,
            "group chain": (max(groups, default=1) - 1) // flood.group_per_window * flood.group_window,
        }
        return max(bounds.values()), bounds

    def enqueue(self, database_url: str) -> None:
        upgrade(database_url)
        engine = create_db_engine(database_url)
        now = utcnow()
        with session_scope(engine) as session:
            for n, (chat_id, marker) in enumerate(self.messages):
                reply = Reply(title="You were outbid", text=f"Lot {n % 97}: new price {100 + n} CGT #{marker}")
                outbox.enqueue_notification(
                    session,
                    dedupe_key=f"outbid:{marker}",
                    platform="telegram",
                    chat_id=str(chat_id),
                    chat_user_id=None,
                    kind="outbid",
                    payload=encode_reply(reply),
                    now=now,
                )
        engine.dispose()


@dataclass
class Result:
    name: str
    started: float
    flood: FloodState
    workload: Workload
    note: str = ""

    def __post_init__(self) -> None:
        deliveries = [d for d in self.flood.deliveries if d.at >= self.started]
        accepted = [d for d in deliveries if d.accepted]
        markers = Counter(m.group(1) for d in accepted if (m := MARKER.search(d.text)))
        self.refused = len(deliveries) - len(accepted)
        self.refused_by = Counter(d.reason for d in deliveries if not d.accepted)
        self.delivered = sum(1 for _, marker in self.workload.messages if markers[marker])
        self.duplicates = sum(count - 1 for count in markers.values() if count > 1)
        self.wall = max((d.at for d in accepted), default=self.started) - self.started

    @property
    def throughput(self) -> float:
        return self.delivered / self.wall if self.wall else 0.0


async def run_naive(database_url: str, api_url: str, flood: FloodState, workload: Workload) -> Result:
    """One message after the other, as fast as the API answers; after a 429, wait retry_after and resend."""
    from telegram import Bot
    from telegram.error import RetryAfter

    engine = create_db_engine(database_url)
    with session_scope(engine) as session:
        rows = [(n.id, n.chat_id, n.payload) for n in session.exec(select(Notification).order_by(col(Notification.id)))]
    async with Bot(TOKEN, base_url=f"{api_url}/bot") as bot:
        started = time.monotonic()
        for notification_id, chat_id, payload in rows:
            text = decode(payload).plain_text()
            while True:
                try:
                    await bot.send_message(chat_id=int(chat_id), text=text)
                    break
                except RetryAfter as error:
                    await asyncio.sleep(_seconds(error))
            with session_scope(engine) as session:
                outbox.mark_notification_sent(session, notification_id=notification_id, at=utcnow())
    engine.dispose()
    return Result("naive loop", started, flood, workload)


async def run_gavel(
    database_url: str, api_url: str, flood: FloodState, workload: Workload, *, pacing: bool = True
) -> Result:
    """The real Dispatcher and TelegramAdapter, a dispatcher round every scheduler tick until the outbox is empty."""
    from adapters.telegram.adapter import TelegramAdapter
    from bot.alerts.dispatch import Dispatcher
    from bot.core.adapter_port import AdapterPort
    from bot.core.config import load_settings
    from bot.core.routing import Core
    from bot.wiring.dependencies import open_services
    from storage.crypto import generate_key

    settings = load_settings(
        _env_file=None,
        database_url=database_url,
        gavel_secret_key=generate_key(),
        telegram_bot_token=TOKEN,
        telegram_api_base_url=f"{api_url}/bot",
        cryptogig_base_url="http://127.0.0.1:9",  # never called here
        auctionity_base_url="http://127.0.0.1:9",
    )
    async with open_services(settings) as services:
        core = AdapterPort(Core(services))
        adapter = TelegramAdapter(core, settings, poll_timeout=0.5)
        await adapter.start()
        try:
            # Without pacing nothing stands between the dispatcher and a 429 but Telegram's retry_after.
            off: dict[str, Any] = {} if pacing else {"pacing": {"telegram": None}}
            dispatcher = Dispatcher(services, {"telegram": adapter}, **off)
            rounds = 0
            started = time.monotonic()
            while True:
                await dispatcher.run_once()
                rounds += 1
                with services.db.session() as session:
                    if not session.exec(select(func.count()).select_from(Notification).where(*PENDING)).one():
                        break
                elapsed = time.monotonic() - started
                await asyncio.sleep((math.floor(elapsed / TICK_SECONDS) + 1) * TICK_SECONDS - elapsed)
        finally:
            await adapter.stop()
    name = "gavel" if pacing else "gavel, unpaced"
    return Result(name, started, flood, workload, note=f"{rounds} dispatcher rounds")


async def _round_trip_ms(api_url: str, count: int = 20) -> float:
    import httpx

    async with httpx.AsyncClient(base_url=api_url) as client:
        await client.post(f"/bot{TOKEN}/getMe")
        started = time.perf_counter()
        for _ in range(count):
            await client.post(f"/bot{TOKEN}/getMe")
    return (time.perf_counter() - started) / count * 1000


def _seconds(error: Any) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def print_table(results: list[Result], workload: Workload, flood: FloodState, bounds: dict[str, float]) -> None:
    best = max(bounds.values())
    allowed = len(workload.messages) / best
    per_chat = Counter(chat_id for chat_id, _ in workload.messages)
    print(
        f"\n{len(workload.messages)} alerts to {len(per_chat)} chats "
        f"({sum(1 for c in per_chat if c < 0)} groups; most to one chat: {max(per_chat.values())})"
    )
    print(
        f"limits enforced by the fake Bot API: {flood.overall_limit}/s overall, "
        f"1 per {flood.private_interval:g} s per private chat, {flood.group_per_window} per {flood.group_window:g} s"
        " per group" + (f"  (time scale x{flood.scale:g}: Telegram's limits sped up)" if flood.scale != 1 else "")
    )
    print(
        "best schedule the limits allow: "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in bounds.items())
        + f" -> {best:.1f} s, i.e. {allowed:.1f} msg/s"
    )
    rows = [
        ("429s received (target 0)", lambda r: f"{r.refused}"),
        (
            "  of which overall / chat / group",
            lambda r: "{} / {} / {}".format(*map(r.refused_by.__getitem__, ("overall", "private chat", "group"))),
        ),
        ("wall time, s", lambda r: f"{r.wall:.1f}"),
        ("throughput, msg/s", lambda r: f"{r.throughput:.1f}"),
        ("share of allowed rate (target >= 90 %)", lambda r: f"{100 * r.throughput / allowed:.0f} %"),
        ("delivered / duplicates", lambda r: f"{r.delivered} / {r.duplicates}"),
        ("", lambda r: r.note),
    ]
    width = max(len(label) for label, _ in rows) + 2
    columns = [max(len(r.name), 12) + 2 for r in results]
    print()
    print("".ljust(width) + "".join(r.name.rjust(c) for r, c in zip(results, columns, strict=True)))
    for label, value in rows:
        print(label.ljust(width) + "".join(value(r).rjust(c) for r, c in zip(results, columns, strict=True)))


async def main(args: argparse.Namespace) -> None:
    # The table counts every 429; a log line per flood wait would only bury it.
    logging.getLogger("bot.alerts.dispatch").setLevel(logging.ERROR)
    workload = Workload.build(messages=args.messages, chats=args.chats, groups=args.groups, seed=args.seed)
    flood = FloodState(scale=args.scale)
    _, bounds = workload.best_seconds(flood)
    folder = Path(tempfile.mkdtemp(prefix="gavel-bench-dispatch-"))
    runs: list[tuple[str, Callable[[str, str], Any]]] = [
        ("naive", lambda db, api: run_naive(db, api, flood, workload)),
        ("gavel", lambda db, api: run_gavel(db, api, flood, workload)),
    ]
    if args.unpaced:
        runs.append(("unpaced", lambda db, api: run_gavel(db, api, flood, workload, pacing=False)))
    results = []
    with serve_in_thread(create_fake_telegram_app(flood)) as server:
        for name, run in runs:
            database_url = f"sqlite:///{folder / (name + '.db')}"
            workload.enqueue(database_url)
            flood.reset()
            print(f"running {name}...", flush=True)
            results.append(await run(database_url, server.url))
        round_trip = await _round_trip_ms(server.url)
    print_table(results, workload, flood, bounds)
    print(f"\nround trip to the fake Bot API (getMe, one at a time): {round_trip:.0f} ms")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--chats", type=int, default=300)
    parser.add_argument("--groups", type=int, default=30, help="how many of the chats are groups")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0, help="speed Telegram's limits up by this factor")
    parser.add_argument(
        "--unpaced", action="store_true", help="also run the dispatcher with its pacing off (adapter limits only)"
    )
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
