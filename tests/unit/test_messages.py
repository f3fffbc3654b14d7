"""The Reply vocabulary as the outbox stores it (bot/core/payloads.py): what is written reads back the same."""

from __future__ import annotations

import json

from bot.core.messages import Button, Field, Image, Outcome, Reply
from bot.core.payloads import decode, encode_reply

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))  # bytes no text encoding would carry unchanged


def test_a_reply_reads_back_from_its_json_unchanged():
    reply = Reply(
        title="You were outbid", text="New price: 150 DRT", fields=(Field("Bids", "3"),), outcome=Outcome.WARNING
    ).with_buttons([Button("Unwatch", "unwatch 0x1"), Button("Open", url="https://example.test")])

    assert decode(encode_reply(reply)) == reply


def test_an_attached_picture_travels_as_base64_and_reads_back_byte_for_byte():
    reply = Reply(title="Old lamp", image=Image(PNG, filename="price-abc.png", alt="Price of Old lamp"))

    stored = encode_reply(reply)

    assert isinstance(json.loads(stored)["reply"]["image"]["data"], str)
    assert decode(stored) == reply


def test_a_payload_written_before_pictures_existed_reads_back_without_one():
    stored = json.loads(encode_reply(Reply(text="hello")))
    del stored["reply"]["image"]

    assert decode(json.dumps(stored)) == Reply(text="hello")


def test_a_pictures_bytes_stay_out_of_its_repr():
    assert "\\x89PNG" not in repr(Image(PNG, filename="p.png"))
