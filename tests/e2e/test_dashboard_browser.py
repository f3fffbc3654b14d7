"""The staff dashboard in a real browser: Debian's headless Chromium, driven by Playwright, against the dashboard
served beside the real core, with the link sent by the real Telegram adapter through the fake Bot API.

Each page visited is saved as a screenshot in the test's temporary folder (and copied to $GAVEL_SCREENSHOTS when
set). Skipped, saying why, only where no Chromium is installed.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.dashboard.command import create_link
from tests.support import dashboard as support
from tests.support.dashboard import CODES, web_app_data, web_app_fragment
from tests.support.telegram import ALICE, BOT_ADMIN, GROUP, grant_group, say

desk, settings = support.desk, support.settings  # the dashboard's fixtures, for this module

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PHONE = {"width": 390, "height": 844}
UNKNOWN_CODE = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium package (.ci/run does) to run browser tests")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


class Shots:
    """Screenshots of each page, in the test's folder (and $GAVEL_SCREENSHOTS, for a person to look at)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: list[Path] = []

    async def take(self, page: Any, name: str) -> None:
        path = self.folder / f"dashboard-{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 1000
        self.taken.append(path)
        if os.environ.get("GAVEL_SCREENSHOTS"):
            shutil.copy(path, Path(os.environ["GAVEL_SCREENSHOTS"]) / path.name)


async def dashboard_link(telegram: Any, user: int = BOT_ADMIN) -> tuple[str | None, Any]:
    """What /dashboard sends ``user`` on Telegram: the sign-in link (None when refused) and the message."""
    (sent,) = await say(telegram, "/dashboard", user=user)
    links = [b["url"] for b in sent.buttons if "/login/" in b.get("url", "")]
    return (links[0] if links else None), sent


async def test_staff_sign_in_find_a_buyer_remove_a_grant_export_import_and_sign_out(
    adapter, telegram, core, desk, browser, make_chat, tmp_path
):
    shots = Shots(tmp_path)
    grant_group(core)
    await say(telegram, f"/verify {CODES['regular licence, supported']}", user=ALICE)
    await make_chat(user_id="bob").say(f"/verify {CODES['extended licence, supported']}")
    link, sent = await dashboard_link(telegram)
    assert link is not None and link.startswith(desk.url) and sent.chat_id == BOT_ADMIN

    page = await (await browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)).new_page()
    await page.goto(link)
    await page.wait_for_url(f"{desk.url}/buyers")
    assert "3f6c…9e01" in await page.inner_text("table")
    await shots.take(page, "buyers")

    await page.fill("input[name=q]", str(ALICE))
    await page.click("form.search button")
    await page.wait_for_url("**/buyers?q=*")
    rows = page.locator("tbody tr")
    assert await rows.count() == 1
    await shots.take(page, "buyers-found")
    await rows.first.locator("a").click()
    await page.wait_for_url(f"{desk.url}/buyers/telegram/{ALICE}")
    assert "verified" in await page.inner_text("main")
    await shots.take(page, "history")

    await page.click("nav >> text=Places")
    assert f"telegram:{GROUP}" in await page.inner_text("main")
    await shots.take(page, "places")
    await page.click("button.danger")
    await page.wait_for_selector(".notice")
    assert "Removed: item #101" in await page.inner_text(".notice")
    assert f"telegram:{GROUP}" not in await page.inner_text("main")

    await page.click("nav >> text=Numbers")
    await page.wait_for_selector("svg.chart")
    assert "2" in await page.inner_text(".figures dd >> nth=0")  # two active purchases
    await shots.take(page, "numbers")

    await page.click("nav >> text=Export and import")
    await shots.take(page, "transfer")
    async with page.expect_download() as download_info:
        await page.click("text=Download CSV")
    exported = (await (await download_info.value).path()).read_text(encoding="utf-8-sig")
    assert all(code not in exported for code in CODES.values())
    table = list(csv.reader(io.StringIO(exported)))
    assert table[0][:3] == ["platform", "user_id", "code"] and len(table) == 3

    # The export goes back in with codes filled in, plus new buyers: one new, one taken, one unknown.
    back = io.StringIO()
    writer = csv.writer(back)
    writer.writerows(table)  # masked codes: refused without asking CryptoGig
    writer.writerow(["telegram", str(ALICE), CODES["regular licence, supported"]])  # already hers: refreshed
    writer.writerow(["discord", "555", CODES["regular licence, no support"]])
    writer.writerow(["console", "carol", CODES["extended licence, supported"]])  # bob's
    writer.writerow(["console", "dave", UNKNOWN_CODE])
    await page.set_input_files("input[name=file]", {"name": "buyers.csv", "mimeType": "text/csv",
                                                    "buffer": back.getvalue().encode()})  # fmt: skip
    await page.click("form[action='/import'] button")
    await page.wait_for_url("**/import/*")
    await page.wait_for_selector("text=Finished", timeout=20_000)
    figures = {key: await page.inner_text(f"#{key}") for key in ("imported", "invalid", "claimed", "failed")}
    assert figures == {"imported": "2", "invalid": "3", "claimed": "1", "failed": "0"}
    await shots.take(page, "import")
    with core.services.db.session() as session:
        from storage import claims

        assert [v.item_id for v in claims.claims_of(session, platform="discord", platform_user_id="555")] == [104]

    phone = await (
        await browser.new_context(viewport=PHONE, storage_state=await page.context.storage_state())
    ).new_page()
    await phone.goto(f"{desk.url}/buyers")
    await shots.take(phone, "buyers-phone")

    await page.click("text=Sign out")
    await page.wait_for_selector("text=Signed out")
    await shots.take(page, "signed-out")
    gone = await page.goto(f"{desk.url}/buyers")
    assert gone is not None and gone.status == 404
    assert len(shots.taken) == 9


async def test_a_sign_in_link_is_refused_the_second_time(adapter, telegram, desk, browser, tmp_path):
    link, _ = await dashboard_link(telegram)
    first = await (await browser.new_context()).new_page()
    await first.goto(link)
    await first.wait_for_url(f"{desk.url}/buyers")
    second = await (await browser.new_context()).new_page()
    answer = await second.goto(link)
    assert answer is not None and answer.status == 404
    assert await second.inner_text("body") == "Not Found"
    await Shots(tmp_path).take(second, "link-used")


async def test_someone_who_is_not_staff_gets_no_link_and_their_link_is_refused(
    adapter, telegram, core, desk, browser, tmp_path
):
    link, sent = await dashboard_link(telegram, user=ALICE)
    assert link is None and "admin" in sent.text.lower()
    token = await create_link(core.services, who=f"telegram:{ALICE}", language="en")  # as if minted for her
    page = await (await browser.new_context()).new_page()
    answer = await page.goto(f"{desk.url}/login/{token}")
    assert answer is not None and answer.status == 404
    await Shots(tmp_path).take(page, "not-staff")


async def test_the_web_app_signs_staff_in_with_telegrams_signed_data(desk, browser, tmp_path):
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{desk.url}/webapp#{web_app_fragment(web_app_data(BOT_ADMIN))}")
    await page.wait_for_url(f"{desk.url}/buyers")
    assert "#" not in page.url
    await Shots(tmp_path).take(page, "web-app")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(web_app_data(BOT_ADMIN, forge=True), id="forged-hash"),
        pytest.param(web_app_data(BOT_ADMIN, age=11 * 60), id="too-old"),
    ],
)
async def test_the_web_app_refuses_data_telegram_did_not_sign_just_now(desk, browser, tmp_path, data):
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{desk.url}/webapp#{web_app_fragment(data)}")
    await page.wait_for_selector("text=You could not be signed in here")
    await Shots(tmp_path).take(page, "web-app-refused")
    answer = await page.goto(f"{desk.url}/buyers")
    assert answer is not None and answer.status == 404
