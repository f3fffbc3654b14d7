"""The staff dashboard over real HTTP on loopback, with the real core and the CryptoGig sandbox: who gets in (and
who gets a 404), one-time links, sessions that end when staff stop being staff, CSRF, headers, and what pages show."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from sqlmodel import select

from bot.dashboard.command import create_link
from bot.dashboard.web import serve_dashboard
from storage import overview, places
from storage.models import DashboardSession, Notification, StaffAction
from tests.support import dashboard as support
from tests.support.dashboard import CODES, csrf_of, free_port, link_of, signed_in, web_app_data, web_app_fragment

desk, settings = support.desk, support.settings  # the dashboard's fixtures, for this module

PAGES = ["/", "/buyers", "/buyers/console/alice", "/places", "/numbers", "/transfer", "/import/1"]
ACTIONS = ["/logout", "/places/remove", "/export", "/import"]


async def test_anyone_signed_out_gets_the_same_404_as_a_page_that_does_not_exist(desk):
    async with httpx.AsyncClient(base_url=desk.url) as client:
        missing = await client.get("/no-such-page")
        answers = [await client.get(path) for path in PAGES] + [await client.post(path) for path in ACTIONS]
        answers += [await client.get("/login/" + "x" * 43), await client.put("/buyers")]
    async with httpx.AsyncClient(base_url=desk.url, cookies={"gavel_session": "y" * 43}) as client:
        answers += [await client.get("/buyers")]
    assert missing.status_code == 404
    for answer in answers:
        assert (answer.status_code, answer.text) == (404, missing.text), answer.request.url


async def test_a_staff_members_link_signs_them_in_once_and_lands_on_the_buyers_page(desk, make_chat):
    reply = await make_chat(user_id="admin").say("/dashboard")
    assert reply.private and "Staff dashboard" in (reply.title or "")
    link = link_of(reply)
    assert link.startswith(f"{desk.url}/login/")
    async with httpx.AsyncClient() as browser:
        first = await browser.get(link)
        assert first.status_code == 200
        assert 'http-equiv="refresh" content="0; url=/buyers"' in first.text
        cookie = first.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=43200" in cookie
        assert "Secure" not in cookie  # plain http on loopback; the https case is below
        buyers = await browser.get(f"{desk.url}/buyers")
        assert buyers.status_code == 200 and "<h1>Buyers</h1>" in buyers.text
        again = await httpx.AsyncClient().get(link)
    assert again.status_code == 404


async def test_someone_who_is_not_staff_gets_no_link_and_a_link_of_theirs_opens_nothing(desk, make_chat, core):
    reply = await make_chat(user_id="alice").say("/dashboard")
    assert not any(b.url for row in reply.buttons for b in row)
    token = await create_link(core.services, who="console:alice", language="en")  # as if they had been staff
    async with httpx.AsyncClient(base_url=desk.url) as client:
        assert (await client.get(f"/login/{token}")).status_code == 404


async def test_staff_taken_off_gavel_admins_lose_every_session_at_their_next_request(desk, make_chat, core, settings):
    async with signed_in(make_chat, desk.url) as client:
        assert (await client.get("/buyers")).status_code == 200
        demoted = settings.model_copy(
            update={"gavel_admins": frozenset({"telegram:1000"}), "dashboard_port": free_port()}
        )
        services = dataclasses.replace(core.services, settings=demoted)
        async with serve_dashboard(services, demoted) as other_url:
            answer = await client.get(f"{other_url}/buyers")
        assert answer.status_code == 404
    with core.services.db.session() as session:
        assert session.exec(select(DashboardSession).where(DashboardSession.staff == "console:admin")).all() == []
        lines = session.exec(select(StaffAction.action, StaffAction.detail)).all()
    assert ("sign_out", "no longer staff") in lines


async def test_sign_out_ends_the_session(desk, make_chat):
    async with signed_in(make_chat, desk.url) as client:
        page = await client.get("/buyers")
        csrf = csrf_of(page.text)
        out = await client.post("/logout", data={"csrf": csrf})
        assert out.status_code == 200 and "Signed out" in out.text
        client.cookies.clear()
        assert (await client.get("/buyers")).status_code == 404


async def test_a_form_without_its_csrf_token_changes_nothing(desk, make_chat, core):
    with core.services.db.session() as session:
        grant = places.set_access_grant(
            session, platform="telegram", place_id="-1001", item_id=101, target_id="-1001", created_by="test",
            now=core.services.now(),
        )  # fmt: skip
    async with signed_in(make_chat, desk.url) as client:
        forged = await client.post("/places/remove", data={"grant_id": str(grant.id), "csrf": "guess"})
        bare = await client.post("/places/remove", data={"grant_id": str(grant.id)})
        assert forged.status_code == bare.status_code == 400
        with core.services.db.session() as session:
            assert overview.access_grant(session, grant_id=grant.id) is not None


async def test_every_response_carries_the_security_headers(desk, make_chat):
    async with signed_in(make_chat, desk.url) as client:
        for path in ("/buyers", "/numbers", "/static/desk.css", "/no-such-page"):
            headers = (await client.get(path)).headers
            policy = headers["content-security-policy"]
            assert "script-src 'self'" in policy and "unsafe-inline" not in policy
            assert "frame-ancestors 'none'" in policy and headers["x-frame-options"] == "DENY"
            assert headers["referrer-policy"] == "no-referrer" and headers["x-content-type-options"] == "nosniff"
        assert (await client.get("/buyers")).headers["cache-control"] == "no-store"
        # The page a chat app opens inside itself may be framed by that app's web client, and only by it.
        webapp = (await client.get("/webapp")).headers
    assert "frame-ancestors 'self' https://web.telegram.org" in webapp["content-security-policy"]
    assert "x-frame-options" not in webapp


async def test_on_https_the_cookie_is_secure_and_bound_to_the_host(core, settings_factory, make_chat):
    settings = settings_factory(dashboard_port=free_port(), dashboard_url="https://desk.example.test")
    services = dataclasses.replace(core.services, settings=settings)
    token = await create_link(services, who="console:admin", language="en")
    async with serve_dashboard(services, settings) as url, httpx.AsyncClient(base_url=url) as client:
        cookie = (await client.get(f"/login/{token}")).headers["set-cookie"]
    assert cookie.startswith("__Host-gavel_session=") and "Secure" in cookie and "Path=/" in cookie


async def test_sign_in_links_are_limited_per_staff_member(desk, make_chat):
    admin = make_chat(user_id="admin")
    replies = [await admin.say("/dashboard") for _ in range(6)]
    assert all("/login/" in link_of(r) for r in replies[:5])
    assert "sign-in links" in replies[5].text and not replies[5].buttons


async def test_web_app_data_signed_by_telegram_for_staff_signs_in(desk):
    async with httpx.AsyncClient(base_url=desk.url) as client:
        signed = await client.post("/webapp/sign-in", data={"signed": web_app_fragment(web_app_data(1000))})
        assert signed.status_code == 204 and "HttpOnly" in signed.headers["set-cookie"]
        assert (await client.get("/buyers")).status_code == 200


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(web_app_data(1000, forge=True), id="forged-hash"),
        pytest.param(web_app_data(1000, age=11 * 60), id="signed-11-minutes-ago"),
        pytest.param(web_app_data(1000, token="654321:another-bots-token"), id="another-bots-data"),
        pytest.param(web_app_data(1001), id="not-staff"),
        pytest.param("user=%7B%22id%22%3A1000%7D&auth_date=1&hash=00", id="made-up"),
    ],
)
async def test_web_app_data_that_telegram_did_not_sign_for_staff_just_now_is_refused(desk, data):
    async with httpx.AsyncClient(base_url=desk.url) as client:
        refused = await client.post("/webapp/sign-in", data={"signed": web_app_fragment(data)})
        assert refused.status_code == 404 and "set-cookie" not in refused.headers
        assert (await client.get("/buyers")).status_code == 404


async def test_pages_show_masked_codes_and_never_a_secret(desk, make_chat, core, settings):
    await make_chat(user_id="bob").say(f"/verify {CODES['regular licence, supported']}")
    await make_chat(user_id="=cmd|' /C calc'!A0", platform="console").say(
        f"/verify {CODES['regular licence, no support']}"
    )
    async with signed_in(make_chat, desk.url) as client:
        texts = [(await client.get(path)).text for path in ("/buyers", "/buyers/console/bob", "/numbers", "/places")]
        csrf = csrf_of(texts[0])
        texts.append((await client.post("/export", data={"csrf": csrf})).text)
    assert "3f6c…9e01" in texts[0] and "3f6c…9e01" in texts[1] and "3f6c…9e01" in texts[4]
    secrets = [
        *CODES.values(),
        settings.cryptogig_api_key.get_secret_value(),
        settings.gavel_secret_key.get_secret_value(),
    ]
    for text in texts:
        for secret in secrets:
            assert secret not in text
    assert "'=cmd" in texts[4], "a cell a spreadsheet would run as a formula is written as text"


async def test_pages_speak_the_staff_members_language(desk, make_chat):
    async with signed_in(make_chat, desk.url, who="admin") as client:
        assert "<h1>Buyers</h1>" in (await client.get("/buyers")).text
    await make_chat(user_id="admin").say("/language es")
    async with signed_in(make_chat, desk.url, who="admin") as client:
        page = (await client.get("/buyers")).text
    assert 'lang="es"' in page and "<h1>Buyers</h1>" not in page


async def test_removing_a_grant_tells_the_staff_log_and_the_audit_log(desk, make_chat, core):
    await make_chat(user_id="admin").say("/staff_log", place_id="staff-room", chat_id="staff-room", is_private=False)
    with core.services.db.session() as session:
        grant = places.set_access_grant(
            session, platform="telegram", place_id="-1001", item_id=101, target_id="-1001", created_by="test",
            now=core.services.now(),
        )  # fmt: skip
    async with signed_in(make_chat, desk.url) as client:
        page = await client.get("/places")
        assert "telegram:-1001" in page.text
        csrf = csrf_of(page.text)
        done = await client.post("/places/remove", data={"grant_id": str(grant.id), "csrf": csrf})
        assert done.status_code == 303
        after = await client.get(done.headers["location"])
    assert "Removed: item #101" in after.text and "telegram:-1001" not in after.text.split("</p>", 1)[1]
    with core.services.db.session() as session:
        lines = [n.payload for n in session.exec(select(Notification).where(Notification.kind == "staff_log"))]
        actions = session.exec(select(StaffAction.staff, StaffAction.action)).all()
    assert any("Grant removed" in line and "console:admin" in line for line in lines)
    assert ("console:admin", "remove_grant") in actions
