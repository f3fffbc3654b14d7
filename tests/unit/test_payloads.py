"""Outbox payloads survive a deploy: rows written by earlier versions are read as what they said."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.messages import AccessChange, Button, Field, Image, Outcome, Reply
from bot.core.payloads import VERSION, UnreadablePayload, decode, encode_access, encode_reply

# Exactly as version 1 (Gavel at e5e811d, messages.reply_to_json) wrote them: no version field, no web_app.
V1_ALERT = (
    '{"text": "Someone outbid you on Lamp.", "title": "Outbid", "fields": [{"name": "Price", "value": "180 DRT", '
    '"inline": true}], "image_url": null, "image": {"data": "iVBORw0KGgoA/w==", "filename": "price.png", "alt": '
    '"price chart"}, "thumbnail_url": null, "buttons": [[{"label": "Bid 189", "command": "bid_ask 0xab 189", '
    '"edits": false, "url": null, "private": false}, {"label": "Show", "command": "auctions 0xab", "edits": true, '
    '"url": null, "private": false}]], "outcome": "warning", "ephemeral": false, "private": true, "footer": '
    '"ends in 12m", "url": null, "grants": [], "grant_checks": [], "prompt": null, "open_private_chat": false}'
)
V1_ACCESS = '{"access": {"place_id": "-100123", "target_id": "-100123", "user_id": "42", "grant": false}}'


def test_an_alert_queued_by_version_1_is_read_as_it_was_written():
    reply = decode(V1_ALERT)
    assert reply == Reply(
        text="Someone outbid you on Lamp.",
        title="Outbid",
        fields=(Field("Price", "180 DRT"),),
        image=Image(b"\x89PNG\r\n\x1a\n\x00\xff", "price.png", "price chart"),
        buttons=((Button("Bid 189", "bid_ask 0xab 189"), Button("Show", "auctions 0xab", edits=True)),),
        outcome=Outcome.WARNING,
        private=True,
        footer="ends in 12m",
    )


def test_an_access_change_queued_by_version_1_is_read_as_it_was_written():
    assert decode(V1_ACCESS) == AccessChange("-100123", "-100123", "42")


def test_a_field_this_version_does_not_know_is_ignored_not_fatal():
    data = json.loads(encode_reply(Reply("hello")))
    data["reply"]["sparkles"] = True  # written by a newer minor change that added a field
    assert decode(json.dumps(data)) == Reply("hello")


@pytest.mark.parametrize(
    "text", ["", "not json", "[]", '{"v": 99, "reply": {"text": "x"}}', '{"v": 2}', '{"v": 2, "reply": {"fields": 3}}']
)
def test_what_cannot_be_read_says_so(text: str):
    with pytest.raises(UnreadablePayload):
        decode(text)


def test_every_payload_names_its_version():
    assert json.loads(encode_reply(Reply("x")))["v"] == VERSION
    assert json.loads(encode_access(AccessChange("g", "r", "u", grant=True)))["v"] == VERSION


texts = st.text(max_size=40)
buttons = st.builds(Button, label=texts, command=texts, edits=st.booleans(), private=st.booleans())
replies = st.builds(
    Reply,
    text=texts,
    title=st.none() | texts,
    fields=st.lists(st.builds(Field, texts, texts, st.booleans()), max_size=3).map(tuple),
    buttons=st.lists(st.lists(buttons, max_size=3).map(tuple), max_size=3).map(tuple),
    image=st.none() | st.builds(Image, data=st.binary(max_size=64), filename=texts, alt=texts),
    outcome=st.sampled_from(Outcome),
    private=st.booleans(),
)


@given(replies)
def test_a_reply_comes_back_as_it_went_in(reply: Reply):
    assert decode(encode_reply(reply)) == reply
