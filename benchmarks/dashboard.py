"""Dashboard benchmark: the buyers page with 10,000 claims, against the same page of an empty database.

    python benchmarks/dashboard.py [--claims 10000] [--requests 200]

Two temporary SQLite databases (migrated with Alembic): one with ``--claims`` verified purchases (a buyer each,
codes encrypted as Gavel stores them, an audit line each), one empty. Each is served by the real dashboard app
over real HTTP on loopback, and a signed-in client asks for the same pages ``--requests`` times; p50 and p99 are
printed for the full database beside the empty one (the baseline: routing, the session check, the template).
A search by name, a search by code suffix (every code decrypted) and the Numbers page are timed as well.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from random import Random

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # a plain script: the repo's packages import from the checkout

import httpx  # noqa: E402

from bot.core.config import load_settings  # noqa: E402
from bot.core.formatting import utcnow  # noqa: E402
from bot.core.services import open_services  # noqa: E402
from bot.core.serving import serving  # noqa: E402
from bot.dashboard.command import create_link  # noqa: E402
from bot.dashboard.web import create_dashboard_app  # noqa: E402
from storage.crypto import SecretBox, generate_key  # noqa: E402
from storage.db import create_db_engine, session_scope, upgrade  # noqa: E402
from storage.models import ChatUser, PurchaseClaim, VerifyAttempt  # noqa: E402

NAMES = ("Ann", "Bruno", "Chen", "Dasha", "Emeka", "Farah", "Goran", "Hana", "Ivo", "Jun")


def seed(url: str, key: str, claims: int) -> None:
    """``claims`` buyers with one verified purchase each, over the last 60 days; a tenth of them revoked."""
    random, box, now = Random(25), SecretBox(key), utcnow()
    engine = create_db_engine(url)
    with session_scope(engine) as session:
        users = [
            ChatUser(platform=("telegram", "discord")[n % 2], platform_user_id=str(10_000_000 + n),
                     display_name=f"{NAMES[n % len(NAMES)]} {n}", created_at=now)
            for n in range(claims)
        ]  # fmt: skip
        session.add_all(users)
        session.flush()
        for n, user in enumerate(users):
            code = str(uuid.UUID(int=random.getrandbits(128), version=4))
            verified = now - timedelta(minutes=random.randrange(60 * 24 * 60))
            session.add(
                PurchaseClaim(
                    code_hash=box.keyed_hash(code), code_encrypted=box.encrypt(code), chat_user_id=user.id,
                    item_id=101 + n % 5, license="Regular", supported_until=verified + timedelta(days=180),
                    verified_at=verified, revoked_at=now if n % 10 == 0 else None,
                    revoke_reason="refunded" if n % 10 == 0 else None,
                )
            )  # fmt: skip
            session.add(
                VerifyAttempt(chat_user_id=user.id, ok=True, at=verified, outcome="verified", item_id=101 + n % 5,
                              masked_code=f"{code[:4]}…{code[-4:]}")
            )  # fmt: skip
    engine.dispose()


async def timings(folder: Path, claims: int, requests: int, paths: list[str]) -> dict[str, list[float]]:
    """Seconds per request of each path, served from a database of ``claims`` claims."""
    key, url = generate_key(), f"sqlite:///{folder / f'desk-{claims}.db'}"
    upgrade(url)
    seed(url, key, claims)
    settings = load_settings(
        database_url=url, gavel_secret_key=key, gavel_admins="console:staff", cryptogig_base_url="http://127.0.0.1:9",
        auctionity_base_url="http://127.0.0.1:9", _env_file=None,
    )  # fmt: skip
    found: dict[str, list[float]] = {path: [] for path in paths}
    async with open_services(settings) as services:
        app = create_dashboard_app(services, base_url="http://127.0.0.1")
        async with serving(app, "127.0.0.1", 0) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
            token = await create_link(services, who="console:staff", language="en")
            assert (await client.get(f"/login/{token}")).status_code == 200
            for path in paths:
                for _ in range(3):  # warm-up: templates compiled, catalogues loaded, pages cached by SQLite
                    await client.get(path)
                for _ in range(requests):
                    started = time.perf_counter()
                    response = await client.get(path)
                    found[path].append(time.perf_counter() - started)
                    assert response.status_code == 200, (path, response.status_code)
        await app.state.imports.close()
    return found


def quantile(samples: list[float], q: float) -> float:
    return (
        statistics.quantiles(samples, n=100, method="inclusive")[int(q * 100) - 1] if len(samples) > 1 else samples[0]
    )


def line(name: str, samples: list[float]) -> str:
    return f"  {name:<44} p50 {quantile(samples, 0.5) * 1000:7.1f} ms   p99 {quantile(samples, 0.99) * 1000:7.1f} ms"


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    searches = ["/buyers?q=Hana", "/buyers?code=9e01", "/numbers"]
    with tempfile.TemporaryDirectory(prefix="gavel-bench-desk-") as folder:
        empty = await timings(Path(folder), 0, args.requests, ["/buyers"])
        full = await timings(Path(folder), args.claims, args.requests, ["/buyers", "/buyers?page=100", *searches])
    print(f"Dashboard: the buyers page over HTTP on loopback, {args.requests} requests each (SQLite)")
    print(line("baseline: /buyers, no claims", empty["/buyers"]))
    print(line(f"/buyers, {args.claims:,} claims (first page of 50)", full["/buyers"]))
    print(line(f"/buyers?page=100, {args.claims:,} claims", full["/buyers?page=100"]))
    for path in searches:
        print(line(f"{path}, {args.claims:,} claims", full[path]))
    ratio = quantile(full["/buyers"], 0.5) / quantile(empty["/buyers"], 0.5)
    print(f"  the buyers page with {args.claims:,} claims takes {ratio:.1f}x the empty page (p50)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
