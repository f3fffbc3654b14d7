"""The CryptoGig models and parse_response read the API's loose JSON, or fail with our own errors only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.clients.cryptogig import (
    Account,
    Endpoint,
    Item,
    Purchase,
    SupportStatus,
    parse_response,
)
from bot.core.errors import (
    BadApiKey,
    InvalidPurchaseCode,
    ItemNotFound,
    UpstreamError,
    UpstreamMalformed,
)

API_KEY = "k3y-that-must-not-leak"

AUDIO_ITEM = {
    "id": 2,
    "name": "Beats",
    "version": "1.0.0",
    "media": {"thumbnail": "https://img.test/t.png", "preview_audio": "https://img.test/a.mp3"},
    "price": {"regular": 9, "extended": 45},
}


def respond(payload: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=payload)


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        ("2.1.0", "2.1.0"),
        (1.5, "1.5"),
        (2, "2"),
        (1.0, "1.0"),
        (" 3.0 ", "3.0"),
        ("", None),
        (None, None),
        (True, None),
        ({"major": 1}, None),  # neither: unreadable, so absent
    ],
)
def test_item_version_is_always_a_string_whether_sent_as_string_or_number(sent: Any, read: str | None) -> None:
    assert Item.model_validate({"id": 1, "version": sent}).version == read


def test_audio_item_without_preview_image_uses_its_thumbnail_as_image() -> None:
    item = Item.model_validate(AUDIO_ITEM)
    assert item.media.preview_image is None
    assert item.kind == "audio"
    assert item.image_url == "https://img.test/t.png"


def test_image_url_prefers_preview_image_then_first_screenshot_then_thumbnail() -> None:
    media = {"thumbnail": "t", "screenshots": ["s1", "s2"]}
    assert Item.model_validate({"id": 1, "media": {**media, "preview_image": "p"}}).image_url == "p"
    assert Item.model_validate({"id": 1, "media": media}).image_url == "s1"
    assert Item.model_validate({"id": 1, "media": {"thumbnail": "t"}}).image_url == "t"
    assert Item.model_validate({"id": 1}).image_url is None


def test_video_item_is_recognised_by_its_preview_video() -> None:
    item = Item.model_validate({"id": 3, "media": {"preview_video": "v.mp4", "preview_image": "p"}})
    assert item.kind == "video"
    assert item.media.preview_video == "v.mp4"


@pytest.mark.parametrize("screenshots", [None, [], "absent"])
def test_item_without_screenshots_has_an_empty_list(screenshots: Any) -> None:
    media = {"thumbnail": "t"} if screenshots == "absent" else {"thumbnail": "t", "screenshots": screenshots}
    assert Item.model_validate({"id": 1, "media": media}).media.screenshots == []


@pytest.mark.parametrize(("sent", "read"), [("s1", ["s1"]), ("  ", [])])
def test_one_screenshot_sent_as_a_bare_string_reads_as_a_list(sent: str, read: list[str]) -> None:
    assert Item.model_validate({"id": 1, "media": {"screenshots": sent}}).media.screenshots == read


@pytest.mark.parametrize("empty", [None, [], {}])
def test_missing_or_php_empty_media_and_price_read_as_empty_objects(empty: Any) -> None:
    item = Item.model_validate({"id": 1, "media": empty, "price": empty})
    assert item.media.thumbnail is None
    assert item.price.regular is None


def test_unknown_keys_are_ignored() -> None:
    item = Item.model_validate({"id": 1, "name": "X", "rating": 4.8, "media": {"hologram": "h"}})
    assert item.name == "X"
    assert not hasattr(item, "rating")


def test_null_optional_fields_read_as_absent() -> None:
    nulls = dict.fromkeys(["name", "description", "category", "options", "tags", "demo_link", "published_at"])
    item = Item.model_validate({"id": 1, **nulls})
    assert (item.name, item.description, item.options, item.tags, item.published_at) == ("", None, [], [], None)


@pytest.mark.parametrize(
    ("sent", "read"),
    [(19.99, Decimal("19.99")), ("12.00", Decimal("12.00")), ("$1,299.50", Decimal("1299.50")), (7, Decimal(7)),
     ("free", None), (None, None), (True, None), ("NaN", None)],
)  # fmt: skip
def test_prices_are_read_from_numbers_or_strings(sent: Any, read: Decimal | None) -> None:
    assert Item.model_validate({"id": 1, "price": {"regular": sent}}).price.regular == read


def test_an_unreadable_optional_field_falls_back_to_its_default() -> None:
    item = Item.model_validate({"id": "7", "published_at": "last tuesday", "tags": {"a": 1}, "media": "oops"})
    assert (item.id, item.published_at, item.tags, item.media.thumbnail) == (7, None, [], None)


def test_item_without_an_id_is_rejected() -> None:
    with pytest.raises(ValidationError):
        Item.model_validate({"name": "No id"})


def test_purchase_without_supported_until_has_no_support() -> None:
    purchase = Purchase.model_validate({"license_type": "Regular", "item": {"id": 1}})
    assert purchase.supported_until is None
    assert purchase.support_status(datetime.now(UTC)) is SupportStatus.NONE


def test_purchase_support_is_active_until_supported_until_then_expired() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    purchase = Purchase.model_validate({"item": {"id": 1}, "supported_until": "2025-01-02T00:00:00Z"})
    assert purchase.support_status(now) is SupportStatus.ACTIVE
    assert purchase.support_status(now + timedelta(days=2)) is SupportStatus.EXPIRED


def test_naive_timestamps_are_taken_as_utc() -> None:
    purchase = Purchase.model_validate({"item": {"id": 1}, "supported_until": "2030-01-01 00:00:00"})
    assert purchase.supported_until == datetime(2030, 1, 1, tzinfo=UTC)


def test_extended_licence_is_recognised_whatever_its_case() -> None:
    assert Purchase.model_validate({"item": {"id": 1}, "license_type": "EXTENDED license"}).is_extended
    assert not Purchase.model_validate({"item": {"id": 1}, "license_type": "Regular"}).is_extended


def test_account_social_links_read_from_an_object_or_a_list() -> None:
    as_object = Account.model_validate({"profile": {"social_links": {"x": "/x", "bad": 3}}})
    as_list = Account.model_validate({"profile": {"social_links": [{"x": "/x"}, "/fb"]}})
    assert as_object.profile.social_links == {"x": "/x"}
    assert as_list.profile.social_links == {"x": "/x", "link2": "/fb"}


def test_account_display_name_falls_back_to_parts_then_username() -> None:
    assert Account.model_validate({"name": {"full_name": "John Doe"}}).display_name == "John Doe"
    assert Account.model_validate({"name": {"firstname": "John", "lastname": "Doe"}}).display_name == "John Doe"
    assert Account.model_validate({"username": "jd"}).display_name == "jd"


def test_items_answer_without_items_key_is_an_empty_list() -> None:
    assert parse_response(Endpoint.ITEMS, respond({"status": "success"})) == []


def test_no_items_found_error_means_the_workspace_sells_nothing() -> None:
    assert parse_response(Endpoint.ITEMS, respond({"status": "error", "msg": "No items found"})) == []


def test_items_keyed_by_id_and_an_unreadable_item_does_not_hide_the_rest() -> None:
    payload = {"status": "success", "items": {"1": {"id": 1}, "2": {"name": "no id"}, "3": AUDIO_ITEM}}
    assert [item.id for item in parse_response(Endpoint.ITEMS, respond(payload))] == [1, 2]


def test_account_without_data_wrapper_is_read_from_the_top_level() -> None:
    account = parse_response(Endpoint.ACCOUNT, respond({"status": "success", "username": "jd"}))
    assert account.username == "jd"


def test_purchase_directly_under_data_is_read() -> None:
    payload = {"status": "success", "data": {"license_type": "Regular", "item": AUDIO_ITEM}}
    assert parse_response(Endpoint.VALIDATION, respond(payload)).item.id == 2


def test_successful_validation_without_a_purchase_is_malformed_not_valid() -> None:
    with pytest.raises(UpstreamMalformed):
        parse_response(Endpoint.VALIDATION, respond({"status": "success", "data": {}}))


@pytest.mark.parametrize("status", [200, 400, 404])
def test_invalid_purchase_code_message_maps_to_invalid_purchase_code_at_any_status(status: int) -> None:
    with pytest.raises(InvalidPurchaseCode):
        parse_response(Endpoint.VALIDATION, respond({"status": "error", "msg": "Invalid purchase code"}, status))


@pytest.mark.parametrize("status", [200, 404])
def test_item_not_found_maps_to_item_not_found(status: int) -> None:
    with pytest.raises(ItemNotFound):
        parse_response(Endpoint.ITEM, respond({"status": "error", "msg": "Item Not Found"}, status))


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(401, json={"status": "error", "msg": "Invalid request"}),
        httpx.Response(403, text="<html>Forbidden</html>"),
        httpx.Response(401),
        httpx.Response(200, json={"status": "error", "msg": "Invalid API key"}),
    ],
)
def test_refused_api_key_maps_to_bad_api_key(response: httpx.Response) -> None:
    with pytest.raises(BadApiKey):
        parse_response(Endpoint.ACCOUNT, response)


def test_other_error_messages_map_to_a_plain_upstream_error_without_the_api_key() -> None:
    payload = {"status": "error", "msg": f"Quota exceeded for {API_KEY}"}
    with pytest.raises(UpstreamError) as caught:
        parse_response(Endpoint.ITEMS, respond(payload, 429), api_key=API_KEY)
    assert type(caught.value) is UpstreamError
    assert API_KEY not in str(caught.value)
    assert caught.value.upstream == "CryptoGig"


def test_other_error_messages_do_not_repeat_the_purchase_code() -> None:
    code = "0b8d6c45-9e1f-4a27-b3c8-2d1e0f9a8b85"
    payload = {"status": "error", "msg": f"Code {code} is locked"}
    with pytest.raises(UpstreamError) as caught:
        parse_response(Endpoint.VALIDATION, respond(payload, 409), purchase_code=code)
    assert code not in str(caught.value)


def test_error_without_a_message_is_malformed() -> None:
    with pytest.raises(UpstreamMalformed):
        parse_response(Endpoint.ITEMS, respond({"status": "error"}))


def test_malformed_message_names_locations_but_not_the_values() -> None:
    secret_code = "deadbeef-0000-4000-8000-000000000000"
    payload = {"status": "success", "data": {"purchase": {"purchase_code": secret_code, "item": {"id": "x"}}}}
    with pytest.raises(UpstreamMalformed) as caught:
        parse_response(Endpoint.VALIDATION, respond(payload))
    assert "item" in str(caught.value)
    assert secret_code not in str(caught.value)


KEYS = ["status", "msg", "data", "items", "item", "purchase", "id", "name", "version", "media", "price", "regular",
        "thumbnail", "screenshots", "preview_image", "supported_until", "downloaded", "license_type", "profile",
        "social_links", "tags", "published_at"]  # fmt: skip
WORDS = ["success", "error", "Invalid purchase code", "Item Not Found", "No items found", "2.1.0", "19.99", "",
         "2024-04-27T12:00:00Z", f"Invalid API key {API_KEY}", "Invalid request", "1"]  # fmt: skip

# Two fixed levels of nesting rather than st.recursive: as varied where it matters, and much faster to draw.
leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.sampled_from(WORDS), st.text(max_size=6)
)
shallow_values = leaves | st.lists(leaves, max_size=3) | st.dictionaries(st.sampled_from(KEYS), leaves, max_size=3)
json_values = (
    shallow_values
    | st.lists(shallow_values, max_size=2)
    | st.dictionaries(st.sampled_from(KEYS), shallow_values, max_size=4)
)
item_like = st.fixed_dictionaries(
    {"id": st.one_of(st.integers(-5, 10**6), st.sampled_from(["7", "x", None]))},
    optional={key: shallow_values for key in ["name", "version", "media", "price", "tags", "published_at"]},
)
purchase_like = st.fixed_dictionaries(
    {"item": item_like}, optional={"supported_until": leaves, "downloaded": leaves, "price": leaves}
)
envelopes = st.fixed_dictionaries(
    {"status": st.sampled_from(["success", "success", "error", "weird"])},
    optional={
        "msg": st.sampled_from(WORDS),
        "items": st.lists(item_like | json_values, max_size=2),
        "item": item_like | json_values,
        "data": st.one_of(*[st.fixed_dictionaries({"purchase": purchase_like})] * 3, json_values),
    },
)
# Answers shaped like each endpoint's success, with junk inside, so success paths get as many examples as errors.
SUCCESS_SHAPES = {
    Endpoint.ACCOUNT: st.fixed_dictionaries({"status": st.just("success"), "data": json_values}),
    Endpoint.ITEMS: st.fixed_dictionaries({"status": st.just("success"), "items": st.lists(item_like, max_size=3)}),
    Endpoint.ITEM: st.fixed_dictionaries({"status": st.just("success"), "item": item_like}),
    Endpoint.VALIDATION: st.fixed_dictionaries(
        {"status": st.just("success"), "data": st.fixed_dictionaries({"purchase": purchase_like})}
    ),
}
EXPECTED = {Endpoint.ACCOUNT: Account, Endpoint.ITEM: Item, Endpoint.VALIDATION: Purchase}


@st.composite
def answers(draw: st.DrawFn) -> tuple[Endpoint, httpx.Response]:
    endpoint = draw(st.sampled_from(list(Endpoint)))
    status = draw(st.sampled_from([200] * 6 + [201, 400, 401, 403, 404, 429]))
    body = draw(
        st.one_of(
            SUCCESS_SHAPES[endpoint].map(json.dumps),
            SUCCESS_SHAPES[endpoint].map(json.dumps),
            envelopes.map(json.dumps),
            json_values.map(json.dumps),
            st.binary(max_size=20).map(repr),
        )
    )
    return endpoint, httpx.Response(status, content=body.encode(), headers={"content-type": "application/json"})


@given(answer=answers())  # examples: the profile's (2,000 in the thorough one)
def test_any_answer_parses_to_the_endpoint_model_or_raises_only_our_upstream_errors(
    answer: tuple[Endpoint, httpx.Response],
) -> None:
    endpoint, response = answer
    try:
        result = parse_response(endpoint, response, api_key=API_KEY)
    except UpstreamError as exc:
        event(type(exc).__name__)
        assert API_KEY not in str(exc)
        return
    event(f"{endpoint.name} parsed")
    if endpoint is Endpoint.ITEMS:
        assert isinstance(result, list)
        assert all(isinstance(item, Item) and isinstance(item.image_url, str | None) for item in result)
    else:
        assert isinstance(result, EXPECTED[endpoint])
    if isinstance(result, Purchase):
        assert result.support_status(datetime.now(UTC)) in SupportStatus
