"""The dashboard's CSV import paced at CRYPTOGIG_PER_SECOND with a report that follows it, and /dashboard on
Telegram with its Web App button (real adapter, fake Bot API)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from sqlmodel import select

from storage.models import StaffAction, VerifyAttempt
from tests.support import dashboard as support
from tests.support.dashboard import CODES, csrf_of, free_port, signed_in
from tests.support.telegram import BOT_ADMIN, GROUP, say

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

desk = support.desk  # the dashboard's fixture, for this module
PER_SECOND = 4


@pytest.fixture
def settings(settings_factory, request):
    """The dashboard on, importing at four CryptoGig calls a second; behind the public address given, if one."""
    public = getattr(request, "param", None)
    return settings_factory(dashboard_port=free_port(), dashboard_url=public, cryptogig_per_second=PER_SECOND)


@pytest.mark.parametrize("settings", ["https://desk.example.test"], indirect=True)
async def test_dashboard_asked_in_a_group_answers_privately_with_a_web_app_button(adapter, telegram):
    since = telegram.mark()
    (pointer,) = await say(telegram, "/dashboard", user=BOT_ADMIN, chat=GROUP)
    assert "/login/" not in str(pointer.params)  # the group only hears that the answer went privately
    (private,) = telegram.sent_to(BOT_ADMIN, since=since)
    link, web_app = private.buttons
    assert link["url"].startswith("https://desk.example.test/login/")
    assert web_app["web_app"] == {"url": "https://desk.example.test/webapp"} and "url" not in web_app


async def test_an_import_is_paced_and_its_report_page_follows_it_until_it_ends(desk, make_chat, core):
    lines = [
        "platform,user_id,code",
        f"console,ann,{CODES['regular licence, supported']}",
        f"console,ben,{CODES['regular licence, supported']}",  # ann's by now
        "console,cat,00000000-0000-4000-8000-000000000000",
        f"telegram,42,{CODES['extended licence, supported']}",
        f"discord,43,{CODES['regular licence, no support']}",
        "nowhere,44,not-a-code",
    ]
    async with signed_in(make_chat, desk.url) as client:
        csrf = csrf_of((await client.get("/transfer")).text)
        started = time.monotonic()
        sent = await client.post(
            "/import", data={"csrf": csrf}, files={"file": ("b.csv", "\n".join(lines).encode(), "text/csv")}
        )
        assert sent.status_code == 303
        report = sent.headers["location"]
        first = (await client.get(report)).text
        assert 'http-equiv="refresh" content="2"' in first and "<progress" in first
        page = await until_finished(client, report)
        elapsed = time.monotonic() - started
    assert 'http-equiv="refresh"' not in page
    assert (
        '<dd id="imported">3</dd>' in page and '<dd id="claimed">1</dd>' in page and '<dd id="invalid">2</dd>' in page
    )
    assert all(code not in page for code in CODES.values())
    assert elapsed >= 4 / PER_SECOND, "five codes reach CryptoGig, a quarter of a second apart"
    with core.services.db.session() as session:
        outcomes = sorted(session.exec(select(VerifyAttempt.outcome)).all())
        bound = session.exec(select(StaffAction).where(StaffAction.action == "import_bound")).all()
    assert outcomes == ["claimed", "invalid", "verified", "verified", "verified"]  # /verify's own audit lines
    assert len(bound) == 3 and all(a.staff == "console:admin" and a.chat_user_id for a in bound)


async def until_finished(client: httpx.AsyncClient, report: str) -> str:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        page = (await client.get(report)).text
        if "Finished" in page:
            return page
        await asyncio.sleep(0.1)
    raise AssertionError(f"the import never finished: {page}")
