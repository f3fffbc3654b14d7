"""Telegram Web App data, checked as Telegram documents it, and the web-app button where Telegram allows one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from adapters.telegram.render import keyboard
from adapters.telegram.webapp import check_init_data, data_check_string, sign
from bot.core.messages import Button

TOKEN = "123456:TEST-fake-telegram-token"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
TEN_MINUTES = timedelta(minutes=10)


def fields(user_id: int = 1000, *, signed_at: datetime = NOW) -> dict[str, str]:
    user = {"id": user_id, "first_name": "Ann", "last_name": "Lee", "language_code": "es"}
    return {"query_id": "AAH", "user": json.dumps(user), "auth_date": str(int(signed_at.timestamp()))}


def signed(values: dict[str, str], token: str = TOKEN) -> str:
    return urlencode({**values, "hash": sign(values, token)})


def test_the_data_check_string_is_every_field_but_hash_sorted_by_key_one_a_line():
    assert data_check_string({"user": "u", "auth_date": "1", "hash": "h", "query_id": "q"}) == (
        "auth_date=1\nquery_id=q\nuser=u"
    )


def test_data_telegram_signed_for_this_bot_names_its_user():
    person = check_init_data(signed(fields()), TOKEN, now=NOW, max_age=TEN_MINUTES)
    assert person is not None and (person.user_id, person.name, person.language) == ("1000", "Ann Lee", "es")


def test_the_page_fragment_telegram_opens_the_app_with_is_read_too():
    fragment = urlencode({"tgWebAppData": signed(fields()), "tgWebAppVersion": "8.0"})
    assert check_init_data(fragment, TOKEN, now=NOW, max_age=TEN_MINUTES) is not None


def test_changed_data_another_bots_data_and_old_data_are_refused():
    forged = dict(fields(), hash=sign(fields(), TOKEN))
    forged["user"] = json.dumps({"id": 1, "first_name": "Eve"})
    old = signed(fields(signed_at=NOW - TEN_MINUTES - timedelta(seconds=1)))
    future = signed(fields(signed_at=NOW + timedelta(minutes=5)))
    for data in (urlencode(forged), signed(fields(), "999:other-bot"), old, future, "", "hash=x", "a=1&a=2&hash=x"):
        assert check_init_data(data, TOKEN, now=NOW, max_age=TEN_MINUTES) is None, data


def test_a_web_app_button_opens_inside_telegram_only_in_a_private_chat_and_only_over_https():
    rows = [(Button("Open", url="https://desk.example/webapp", web_app=True),)]
    private = keyboard(rows, str, private=True).inline_keyboard[0][0]
    group = keyboard(rows, str, private=False).inline_keyboard[0][0]
    plain = keyboard([(Button("Open", url="http://127.0.0.1:8/webapp", web_app=True),)], str, private=True)
    assert private.web_app is not None and private.web_app.url == "https://desk.example/webapp" and private.url is None
    assert group.web_app is None and group.url == "https://desk.example/webapp"
    assert plain.inline_keyboard[0][0].web_app is None
