"""Scale-out benchmark on PostgreSQL: 1, 2 and 3 worker processes sharing one poll; commands while a poll runs.

    GAVEL_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:55432/gavel_bench python benchmarks/scale.py

The URL is required (exit status 2 without it); that database is wiped (``DROP SCHEMA public CASCADE``, then
the migrations, as tests/conftest.py does). The Auctionity sandbox serves real HTTP on loopback from a thread
of this process, behind an ASGI counter of the auction ids each ``GET /auction`` asks for. The bot runs in
subprocesses of this file (``--child``), like ``gavel worker``: each opens its own services, runs the real
Poller when a stdin line says so and answers a JSON line (PollStats, wall and CPU time, peak RSS). They
share a simulated clock: round k runs at START + k POLL_INTERVAL_SECONDS (30), when every auction is due.

1. Poll throughput: 20,000 auctions, 100,000 watches by 40,000 users (every auction watched), polled by
   N = 1, 2 and 3 fresh processes at once; each leases chunks (FOR UPDATE SKIP LOCKED) until none is left.
   A round's cycle time runs from the signal to the last process's answer; its requests are the sandbox's
   ``GET /auction`` count; a duplicate is an auction fetched twice in one round, a miss one never fetched.
   1,000 bids by watchers land before each measured round, so each has alerts to write. Each N's first
   round is not measured (N = 1's records every auction's first snapshot). Baseline: N = 1, this run.
   CPU per round, from /proc: the workers', this process's (the sandbox, mostly), PostgreSQL's (when it runs
   here) and the rest of the machine's ("other": whatever else runs; a 2-CPU box shared with a test run shows).
2. Command latency: a fresh schema with 50,000 watches over 10,000 auctions and one process running a Core
   and the Poller. Each round fires /watches (users with 2 to 5 watches: two reads and a GET /auction) and
   /help (one read) alternately, 20 a second, for 3 s with the poller idle (the baseline), then for as
   long as a poll of every auction runs (1,000 bids before it). Latency counts from when a command was due,
   so a late event loop shows in it; a task sleeping 10 ms in a loop measures the loop's lag.
3. Peak RSS (VmHWM) of this process (the sandbox with its 20,000 auctions, the seeding) and of each child.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text

from bot.alerts.poller import Poller
from bot.core.adapter_port import AdapterPort
from bot.core.config import load_settings
from bot.core.messages import Outcome, Request, split_command
from bot.core.routing import Core
from bot.sandbox.auctionity import create_auctionity_app
from bot.sandbox.server import serve_in_thread
from bot.wiring.dependencies import open_services
from storage.crypto import generate_key
from storage.db import create_db_engine, upgrade
from storage.models import ChatUser, Watch

URL_ENV = "GAVEL_BENCH_DATABASE_URL"
AUCTIONS, WATCHES, USERS = 20_000, 100_000, 40_000
LATENCY_AUCTIONS, LATENCY_WATCHES, LATENCY_USERS = 10_000, 50_000, 20_000
PROCESSES = (1, 2, 3)
ROUNDS = 3  # measured rounds per process count (and latency rounds), after one that is not measured
BIDS_PER_ROUND = 1_000
INTERVAL = 30
RATE = 20  # commands a second
IDLE_SECONDS = 3.0
LAG_STEP = 0.010
SEED = 20_261_515


class FetchCounter:
    """ASGI middleware: how often each auction id was asked for by ``GET /auction`` (cleared each round)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.fetches: Counter[str] = Counter()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == "/auction":
            query = parse_qsl(scope["query_string"].decode())
            self.fetches.update(value.lower() for name, value in query if name in ("id[]", "id"))
        await self.app(scope, receive, send)


def seed(url: str, auction_ids: list[str], watches: int, users: int, rng: random.Random) -> list[tuple[int, str]]:
    """A fresh schema, ``users`` chat users and ``watches`` distinct watches (bulk inserts, every auction
    watched at least once); the (chat user, auction) pairs."""
    engine = create_db_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(url)
    pairs = {(rng.randint(1, users), auction_id) for auction_id in auction_ids}
    while len(pairs) < watches:
        pairs.add((rng.randint(1, users), rng.choice(auction_ids)))
    now = datetime.now(UTC)
    people = [{"id": i, "platform": "console", "platform_user_id": f"user{i}", "display_name": "",
               "auctionity_user_id": f"bench-user-{i}", "created_at": now} for i in range(1, users + 1)]  # fmt: skip
    rows = [{"chat_user_id": user, "auction_id": auction, "platform": "console", "chat_id": f"user{user}",
             "remind_minutes": "10", "active": True, "created_at": now} for user, auction in sorted(pairs)]  # fmt: skip
    with engine.begin() as connection:
        connection.execute(ChatUser.__table__.insert(), people)
        connection.execute(Watch.__table__.insert(), rows)
        # The ids were given: move the sequence past them, as if the users had come one by one.
        connection.execute(text("SELECT setval(pg_get_serial_sequence('chat_user', 'id'), :n)"), {"n": users})
    engine.dispose()
    return sorted(pairs)


def bid(data: Any, pairs: list[tuple[int, str]], rng: random.Random) -> None:
    """BIDS_PER_ROUND bids, each by a random watcher of its auction, straight into the sandbox's data."""
    for _ in range(BIDS_PER_ROUND):
        user, auction_id = rng.choice(pairs)
        data.place_bid_as(f"bench-user-{user}", auction_id, data.auctions[auction_id].amount + rng.randint(1, 9))


def peak_rss_mb() -> float:
    """Peak RSS of this process (VmHWM). Not ru_maxrss: Linux carries that over from the parent through exec."""
    return int(Path("/proc/self/status").read_text().split("VmHWM:")[1].split()[0]) / 1024


def machine_cpu() -> float:
    """CPU seconds the whole machine has been busy so far."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def postgres_pid(url: str) -> int | None:
    """The PostgreSQL server's main process (our backend's parent), if it runs on this machine."""
    engine = create_db_engine(url)
    with engine.connect() as connection:
        stat = Path(f"/proc/{connection.execute(text('SELECT pg_backend_pid()')).scalar_one()}/stat")
        server = int(stat.read_text().rsplit(")", 1)[1].split()[1]) if stat.exists() else None
    engine.dispose()
    return server


def postgres_cpu(server: int | None) -> float:
    """CPU seconds of the server and its backends so far (those that exited are in the server's cutime)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat") if server else ():
        with contextlib.suppress(OSError):  # a process gone meanwhile
            fields = stat.read_text().rsplit(")", 1)[1].split()
            own = int(stat.parent.name) == server
            total += sum(map(int, fields[11:15] if own else fields[11:13])) if own or int(fields[1]) == server else 0
    return total / os.sysconf("SC_CLK_TCK")


class Child:
    """A subprocess running this file with ``--child``: told what to do by stdin lines, answering JSON lines."""

    def __init__(self, sandbox_url: str, start: datetime, key: str) -> None:
        command = [sys.executable, __file__, "--child", sandbox_url, start.isoformat()]
        env = {**os.environ, "GAVEL_SECRET_KEY": key}
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.stdin, self.stdout = self.process.stdin, self.process.stdout
        self.read()  # ready: start-up is no part of any round

    def send(self, line: str) -> None:
        self.stdin.write(line + "\n")
        self.stdin.flush()

    def read(self) -> dict[str, Any]:
        if not (line := self.stdout.readline()):
            raise RuntimeError(f"a benchmark child exited with status {self.process.wait(10)}")
        return json.loads(line)

    def close(self) -> None:
        self.stdin.close()  # end of input: the child closes its services and exits
        if self.process.wait(30):
            raise RuntimeError(f"a benchmark child exited with status {self.process.returncode}")


@dataclass
class Round:
    cycle: float  # seconds from the signal to the last process's answer
    requests: int  # GET /auction, counted by the sandbox
    fetched: int  # distinct auctions fetched
    duplicates: int  # fetches of an auction beyond its first in this round
    answers: list[dict[str, Any]]
    cpu_here: float  # this process's CPU seconds: the sandbox, mostly
    cpu_postgres: float
    cpu_machine: float


def poll_round(children: list[Child], k: int, data: Any, counter: FetchCounter, server: int | None) -> Round:
    counter.fetches.clear()
    requests, cpu_here, cpu_machine = data.requests["/auction"], time.process_time(), machine_cpu()
    cpu_postgres = postgres_cpu(server)
    began = time.perf_counter()
    for child in children:
        child.send(f"poll {k}")
    answers = [child.read() for child in children]
    cycle = time.perf_counter() - began
    duplicates = sum(n - 1 for n in counter.fetches.values())
    return Round(
        cycle, data.requests["/auction"] - requests, len(counter.fetches), duplicates, answers,
        time.process_time() - cpu_here, postgres_cpu(server) - cpu_postgres, machine_cpu() - cpu_machine,
    )  # fmt: skip


async def child(sandbox_url: str, start: datetime) -> None:
    """One bot process (``--child``) on the shared simulated clock: polls, or measures commands, when told."""
    settings = load_settings(
        auctionity_base_url=sandbox_url, cryptogig_base_url="http://127.0.0.1:9", database_url=os.environ[URL_ENV],
        gavel_secret_key=os.environ["GAVEL_SECRET_KEY"], poll_interval_seconds=INTERVAL, _env_file=None,
    )  # fmt: skip
    async with open_services(settings) as services:
        moment = {"now": start}
        services.clock = lambda: moment["now"]
        core = AdapterPort(Core(services))  # `gavel worker` builds one too, for its adapters
        poller = Poller(services)
        answer({"ready": True})
        loop = asyncio.get_running_loop()
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            verb, k, *users = line.split()
            moment["now"] = start + timedelta(seconds=INTERVAL * int(k))
            if verb == "poll":
                began, cpu = time.perf_counter(), time.process_time()
                stats = await poller.poll_once()
                answer({**asdict(stats), "seconds": time.perf_counter() - began, "cpu": time.process_time() - cpu})
            else:
                answer(await measure(core, poller, [int(u) for u in users]))


def answer(values: dict[str, Any]) -> None:
    print(json.dumps({**values, "rss_mb": peak_rss_mb()}), flush=True)


async def measure(core: Core, poller: Poller, users: list[int]) -> dict[str, Any]:
    """Commands at RATE for IDLE_SECONDS with the poller idle, then as long as one poll runs; loop lag throughout."""
    latencies: dict[str, list[float]] = defaultdict(list)  # "idle /help", "poll /watches"...
    phase, failed, rng = ["idle"], [0], random.Random(len(users))

    async def watch_loop() -> None:
        while True:
            began = time.perf_counter()
            await asyncio.sleep(LAG_STEP)
            latencies[f"{phase[0]} lag"].append(time.perf_counter() - began - LAG_STEP)

    async def one(due: float, line: str, user: int) -> None:
        command, args = split_command(line)
        request = Request(platform="console", user_id=f"user{user}", chat_id=f"user{user}", command=command, args=args)
        reply = await core.handle(request)
        latencies[f"{phase[0]} {line}"].append(time.perf_counter() - due)
        failed[0] += reply is None or reply.outcome is Outcome.ERROR

    async def fire(done: Any) -> None:
        tasks, began = [], time.perf_counter()
        for n in itertools.count():
            if done((due := began + n / RATE) - began):
                break
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(one(due, "/help" if n % 2 else "/watches", rng.choice(users))))
        await asyncio.gather(*tasks)

    monitor = asyncio.create_task(watch_loop())
    await fire(lambda elapsed: elapsed >= IDLE_SECONDS)
    phase[0], began = "poll", time.perf_counter()
    poll = asyncio.create_task(poller.poll_once())
    await fire(lambda _: poll.done())
    stats = await poll
    monitor.cancel()
    return {**latencies, "failed": failed[0], "poll_seconds": time.perf_counter() - began, **asdict(stats)}


def main() -> int:
    url = os.environ.get(URL_ENV, "")
    if not url.startswith(("postgresql", "postgres:")):
        example = f"{URL_ENV}=postgresql://postgres@127.0.0.1:55432/gavel_bench python benchmarks/scale.py"
        print(f"scale: the worker figure needs PostgreSQL: set {URL_ENV} (wiped), e.g.\n  {example}", file=sys.stderr)
        return 2
    rng = random.Random(SEED)
    key, start = generate_key(), datetime.now(UTC)
    counter = FetchCounter(app := create_auctionity_app())
    auction_ids = (data := app.state.data).bulk_create(AUCTIONS)
    polls: dict[int, list[Round]] = {}
    latency: list[dict[str, Any]] = []
    rounds, server = itertools.count(), postgres_pid(url)
    with serve_in_thread(counter) as sandbox:
        began = time.perf_counter()
        pairs = seed(url, auction_ids, WATCHES, USERS, rng)
        print(f"setup: {AUCTIONS:,} auctions, {WATCHES:,} watches: {time.perf_counter() - began:.1f} s")
        for n in PROCESSES:
            children = [Child(sandbox.url, start, key) for _ in range(n)]
            polls[n] = []
            for r in range(ROUNDS + 1):
                if r:
                    bid(data, pairs, rng)
                polls[n].append(last := poll_round(children, next(rounds), data, counter, server))
                print(f"  {n} process(es), round {r}: {last.cycle:.2f} s, {last.requests} requests", flush=True)
            for c in children:
                c.close()
        began = time.perf_counter()
        pairs = seed(url, auction_ids[:LATENCY_AUCTIONS], LATENCY_WATCHES, LATENCY_USERS, rng)
        print(f"setup: {LATENCY_AUCTIONS:,} auctions, {LATENCY_WATCHES:,} watches: {time.perf_counter() - began:.1f} s")
        few = " ".join(str(u) for u, count in sorted(Counter(u for u, _ in pairs).items()) if 2 <= count <= 5)
        one = Child(sandbox.url, start, key)
        one.send("poll 0")
        print(f"  command process, first poll: {one.read()['seconds']:.2f} s", flush=True)
        for k in range(1, ROUNDS + 1):
            bid(data, pairs, rng)
            one.send(f"measure {k} {few}")
            latency.append(one.read())
            print(f"  command process, round {k}: poll {latency[-1]['poll_seconds']:.2f} s", flush=True)
        one.close()
    return report(polls, latency, peak_rss_mb())


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] if ordered else float("nan")


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True))))


def report(polls: dict[int, list[Round]], latency: list[dict[str, Any]], parent_rss: float) -> int:
    base_requests = statistics.mean(r.requests for r in polls[1][1:])
    base_cycle = statistics.median(r.cycle for r in polls[1][1:])
    rows, ok = [], True
    for n, (first, *measured) in polls.items():
        requests = statistics.mean(r.requests for r in measured)
        cycle = statistics.median(r.cycle for r in measured)
        duplicates, missed = sum(r.duplicates for r in measured), sum(AUCTIONS - r.fetched for r in measured)
        failures = sum(a["failures"] for r in measured for a in r.answers)
        workers = statistics.mean(sum(a["cpu"] for a in r.answers) for r in measured)
        here = statistics.mean(r.cpu_here for r in measured)
        postgres = statistics.mean(r.cpu_postgres for r in measured)
        other = statistics.mean(r.cpu_machine for r in measured) - workers - here - postgres
        busy = statistics.mean(r.cpu_machine / (r.cycle * (os.cpu_count() or 1)) for r in measured)
        ok &= requests <= 1.05 * base_requests and not duplicates and not missed and not failures
        ok &= n == 1 or cycle < base_cycle
        rows.append((
            f"{n}", f"{first.cycle:.2f}", f"{requests:,.0f}", f"{requests / base_requests:.2f}x", f"{cycle:.2f}",
            f"{cycle / base_cycle:.2f}x", f"{duplicates}", f"{missed}", f"{failures}",
            f"{workers:.1f} / {here:.1f} / {postgres:.1f} / {other:.1f}", f"{busy:.0%}",
        ))  # fmt: skip
    print(f"\n1. poll throughput: {AUCTIONS:,} auctions, {WATCHES:,} watches; {ROUNDS} rounds per N after one not "
          f"measured, {BIDS_PER_ROUND:,} bids before each; baseline N = 1")  # fmt: skip
    table(("processes", "first round s*", "requests/round", "vs N=1", "cycle p50 s", "vs N=1", "duplicates", "missed",
           "failed batches", "CPU s/round: workers/sandbox/PostgreSQL/other", "machine busy"), rows)  # fmt: skip
    print(f"targets: requests/round <= 1.05x N=1's (~{math.ceil(AUCTIONS / 50)}), cycle below N=1's for N > 1, "
          f"0 duplicates, 0 missed (per round, of {AUCTIONS:,} due); {os.cpu_count()} CPUs\n"
          "* not measured, no bids before it; N=1's records every auction's first snapshot. other: CPU of "
          "processes not of this benchmark")  # fmt: skip

    def merged(name: str) -> list[float]:
        return [x * 1000 for result in latency for x in result.get(name, [])]

    idle, busy = merged("idle /watches") + merged("idle /help"), merged("poll /watches") + merged("poll /help")
    failed = sum(result["failed"] for result in latency)
    print(f"\n2. command latency, {RATE} commands/s, {LATENCY_WATCHES:,} watches over {LATENCY_AUCTIONS:,} auctions, "
          f"{ROUNDS} rounds; baseline: the same commands with the poller idle")  # fmt: skip
    rows = [("commands (/watches and /help)", f"{len(idle)}", f"{len(busy)}", "")]
    rows += [("latency p50 ms", f"{pct(idle, 0.5):.1f}", f"{pct(busy, 0.5):.1f}", "")]
    rows += [("latency p99 ms", f"{pct(idle, 0.99):.1f}", f"{pct(busy, 0.99):.1f}", "<= idle's + 50")]
    for name in ("/watches", "/help"):
        a, b = merged(f"idle {name}"), merged(f"poll {name}")
        rows += [(f"  {name} p50 / p99 ms", *(f"{pct(v, 0.5):.1f} / {pct(v, 0.99):.1f}" for v in (a, b)), "")]
    lag_idle, lag_poll = merged("idle lag"), merged("poll lag")
    rows += [
        ("event-loop lag p99 / max ms", f"{pct(lag_idle, 0.99):.1f} / {max(lag_idle):.0f}",
         f"{pct(lag_poll, 0.99):.1f} / {max(lag_poll):.0f}", "p99 <= 50 during poll"),
        ("failed commands", "", f"{failed} (both)", "0"),
        ("poll time s (mean)", "", f"{statistics.mean(r['poll_seconds'] for r in latency):.2f}", ""),
        ("alerts queued by the polls", "", f"{sum(r['events'] for r in latency):,}", ""),
    ]  # fmt: skip
    table(("metric", "poller idle", "during poll", "target"), rows)
    ok &= pct(busy, 0.99) <= pct(idle, 0.99) + 50 and pct(lag_poll, 0.99) <= 50 and not failed

    print("\n3. peak RSS (VmHWM); no target, for sizing")
    rows = [(f"this process: sandbox with {AUCTIONS:,} auctions, seeding", f"{parent_rss:,.0f}")]
    for n, measured in polls.items():
        rows.append((f"worker processes at {WATCHES:,} watches, N={n}", " / ".join(
            f"{a['rss_mb']:,.0f}" for a in measured[-1].answers)))  # fmt: skip
    rows.append((f"command + poller process at {LATENCY_WATCHES:,} watches", f"{latency[-1]['rss_mb']:,.0f}"))
    table(("process", "peak RSS MB"), rows)
    print("\n" + ("targets met" if ok else "TARGETS MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("SANDBOX_URL", "START"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        asyncio.run(child(options.child[0], datetime.fromisoformat(options.child[1])))
        sys.exit(0)
    sys.exit(main())
