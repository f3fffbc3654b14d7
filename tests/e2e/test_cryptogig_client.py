"""CryptoGigClient against the CryptoGig sandbox over real HTTP on loopback, healthy and faulted."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bot.clients.cryptogig import CryptoGigClient, SupportStatus
from bot.core.errors import (
    BadApiKey,
    InvalidPurchaseCode,
    ItemNotFound,
    UpstreamMalformed,
    UpstreamUnavailable,
)
from bot.sandbox.cryptogig import SAMPLE_PURCHASE_CODES, SANDBOX_API_KEY
from bot.sandbox.faults import MALFORMED_BODIES

VALIDATION = "/api/purchases/validation"
ITEMS = "/api/items/all"


@pytest.fixture
async def client(cryptogig_sandbox: Any) -> AsyncIterator[CryptoGigClient]:
    async with CryptoGigClient(cryptogig_sandbox.url, SANDBOX_API_KEY, timeout=5) as client:
        yield client


def injected(sandbox: Any, kind: str) -> int:
    """Faults injected so far (the counters live for the whole session, so tests compare before and after)."""
    return sandbox.faults.injected.get(kind, 0)


async def test_account_details_describe_the_seller_workspace(client: CryptoGigClient) -> None:
    account = await client.account()
    assert account.display_name == "Sandy Box"
    assert account.username == "sandybox"
    assert account.balance == Decimal("1234.56")
    assert account.profile.social_links == {"facebook": "/", "x": "/"}
    assert account.registered_at == datetime(2023, 6, 1, 12, tzinfo=UTC)


async def test_items_lists_every_seeded_item_with_its_media_type(client: CryptoGigClient) -> None:
    items = {item.id: item for item in await client.items()}
    assert len(items) >= 6
    assert items[102].kind == "audio"
    assert items[102].media.preview_image is None
    assert items[102].image_url == items[102].media.thumbnail
    assert items[103].kind == "video"
    assert items[101].media.screenshots
    assert items[105].image_url == items[105].media.screenshots[0]


async def test_item_version_sent_as_a_number_reads_as_a_string(client: CryptoGigClient) -> None:
    assert (await client.item(104)).version == "1.5"
    assert (await client.item(101)).version == "2.1.0"


async def test_item_prices_sent_as_strings_read_as_decimals(client: CryptoGigClient) -> None:
    item = await client.item(106)
    assert (item.price.regular, item.price.extended) == (Decimal("12.00"), Decimal("60.00"))


async def test_unknown_item_raises_item_not_found(client: CryptoGigClient) -> None:
    with pytest.raises(ItemNotFound) as caught:
        await client.item(999_999)
    assert caught.value.status == 404


async def test_workspace_selling_nothing_lists_no_items(cryptogig_sandbox: Any, client: CryptoGigClient) -> None:
    cryptogig_sandbox.data.items.clear()
    assert await client.items() == []


EXPECTED_PURCHASES = {
    "regular licence, supported": (101, "Regular", SupportStatus.ACTIVE, False),
    "extended licence, supported": (103, "Extended", SupportStatus.ACTIVE, False),
    "regular licence, support expired": (102, "Regular", SupportStatus.EXPIRED, False),
    "regular licence, no support": (104, "Regular", SupportStatus.NONE, False),
    "regular licence, already downloaded": (105, "Regular", SupportStatus.ACTIVE, True),
}


@pytest.mark.parametrize("description", sorted(SAMPLE_PURCHASE_CODES))
async def test_each_sample_purchase_code_validates_with_its_licence_support_and_download_state(
    client: CryptoGigClient, description: str
) -> None:
    purchase = await client.validate_purchase(SAMPLE_PURCHASE_CODES[description])
    item_id, licence, support, downloaded = EXPECTED_PURCHASES[description]
    assert (
        purchase.item.id,
        purchase.license_type,
        purchase.support_status(datetime.now(UTC)),
        purchase.downloaded,
    ) == (
        item_id,
        licence,
        support,
        downloaded,
    )
    assert purchase.purchase_code == SAMPLE_PURCHASE_CODES[description]
    assert purchase.price is not None


async def test_purchase_with_no_support_has_no_supported_until(client: CryptoGigClient) -> None:
    purchase = await client.validate_purchase(SAMPLE_PURCHASE_CODES["regular licence, no support"])
    assert purchase.supported_until is None


async def test_purchase_code_with_spaces_and_capitals_still_validates(client: CryptoGigClient) -> None:
    code = SAMPLE_PURCHASE_CODES["extended licence, supported"]
    assert (await client.validate_purchase(f"  {code.upper()} \n")).is_extended


async def test_invalid_purchase_code_reported_with_http_200_raises_invalid_purchase_code(
    client: CryptoGigClient,
) -> None:
    with pytest.raises(InvalidPurchaseCode) as caught:
        await client.validate_purchase("00000000-0000-4000-8000-000000000000")
    assert caught.value.status == 200


@pytest.mark.parametrize("call", ["account", "items", "item", "validate_purchase"])
async def test_wrong_api_key_raises_bad_api_key_without_showing_the_key(cryptogig_sandbox: Any, call: str) -> None:
    wrong_key = "wrong-key-0123456789"
    args = {"item": (101,), "validate_purchase": (SAMPLE_PURCHASE_CODES["regular licence, supported"],)}
    async with CryptoGigClient(cryptogig_sandbox.url, wrong_key) as client:
        with pytest.raises(BadApiKey) as caught:
            await getattr(client, call)(*args.get(call, ()))
    assert caught.value.status == 401
    assert wrong_key not in str(caught.value)
    assert wrong_key not in repr(client)


@pytest.mark.parametrize("status", [500, 503])
async def test_get_is_retried_on_5xx_then_raises_upstream_unavailable(
    cryptogig_sandbox: Any, client: CryptoGigClient, status: int
) -> None:
    before = injected(cryptogig_sandbox, "status")
    cryptogig_sandbox.faults.set(status=status)
    with pytest.raises(UpstreamUnavailable) as caught:
        await client.items()
    assert caught.value.status == status
    assert injected(cryptogig_sandbox, "status") - before == 3
    assert cryptogig_sandbox.data.requests[ITEMS] == 0


async def test_get_succeeds_when_the_503s_stop_before_the_retries_run_out(
    cryptogig_sandbox: Any, client: CryptoGigClient
) -> None:
    before = injected(cryptogig_sandbox, "status")
    cryptogig_sandbox.faults.set(status=503, remaining=2)
    assert len(await client.items()) >= 6
    assert injected(cryptogig_sandbox, "status") - before == 2
    assert cryptogig_sandbox.data.requests[ITEMS] == 1


async def test_retry_attempts_of_one_sends_a_get_only_once(cryptogig_sandbox: Any) -> None:
    before = injected(cryptogig_sandbox, "status")
    cryptogig_sandbox.faults.set(status=503)
    async with CryptoGigClient(cryptogig_sandbox.url, SANDBOX_API_KEY, retry_attempts=1) as client:
        with pytest.raises(UpstreamUnavailable):
            await client.account()
    assert injected(cryptogig_sandbox, "status") - before == 1


async def test_purchase_validation_is_never_retried_on_503(cryptogig_sandbox: Any, client: CryptoGigClient) -> None:
    before = injected(cryptogig_sandbox, "status")
    cryptogig_sandbox.faults.set(status=503, remaining=1)  # a retry would have met a healthy server
    with pytest.raises(UpstreamUnavailable):
        await client.validate_purchase(SAMPLE_PURCHASE_CODES["regular licence, supported"])
    assert injected(cryptogig_sandbox, "status") - before == 1
    assert cryptogig_sandbox.data.requests[VALIDATION] == 0


async def test_slow_get_times_out_as_upstream_unavailable_after_its_retries(cryptogig_sandbox: Any) -> None:
    before = injected(cryptogig_sandbox, "timeout")
    cryptogig_sandbox.faults.set(timeout_rate=1.0, timeout_seconds=2.0)
    async with CryptoGigClient(cryptogig_sandbox.url, SANDBOX_API_KEY, timeout=0.3) as client:
        started = time.monotonic()
        with pytest.raises(UpstreamUnavailable, match="did not answer in time"):
            await client.items()
    assert injected(cryptogig_sandbox, "timeout") - before == 3
    assert time.monotonic() - started < 2.0 * 3


async def test_slow_purchase_validation_times_out_once_without_retry(cryptogig_sandbox: Any) -> None:
    before = injected(cryptogig_sandbox, "timeout")
    cryptogig_sandbox.faults.set(timeout_rate=1.0, timeout_seconds=2.0)
    async with CryptoGigClient(cryptogig_sandbox.url, SANDBOX_API_KEY, timeout=0.3) as client:
        with pytest.raises(UpstreamUnavailable):
            await client.validate_purchase(SAMPLE_PURCHASE_CODES["regular licence, supported"])
    assert injected(cryptogig_sandbox, "timeout") - before == 1


async def test_latency_beyond_the_client_timeout_is_upstream_unavailable(cryptogig_sandbox: Any) -> None:
    cryptogig_sandbox.faults.set(latency=1.0)
    async with CryptoGigClient(cryptogig_sandbox.url, SANDBOX_API_KEY, timeout=0.3, retry_attempts=1) as client:
        with pytest.raises(UpstreamUnavailable):
            await client.account()


async def test_unreachable_server_is_upstream_unavailable() -> None:
    async with CryptoGigClient("http://127.0.0.1:9", SANDBOX_API_KEY, retry_attempts=2) as client:
        with pytest.raises(UpstreamUnavailable, match="could not be reached"):
            await client.items()


@pytest.mark.parametrize("kind", sorted(MALFORMED_BODIES))
async def test_malformed_get_answer_raises_upstream_malformed_without_retrying(
    cryptogig_sandbox: Any, client: CryptoGigClient, kind: str
) -> None:
    before = injected(cryptogig_sandbox, "malformed")
    cryptogig_sandbox.faults.set(malformed=kind)
    with pytest.raises(UpstreamMalformed):
        await client.items()
    assert injected(cryptogig_sandbox, "malformed") - before == 1


@pytest.mark.parametrize("kind", sorted(MALFORMED_BODIES))
async def test_malformed_validation_answer_raises_upstream_malformed_never_a_valid_purchase(
    cryptogig_sandbox: Any, client: CryptoGigClient, kind: str
) -> None:
    cryptogig_sandbox.faults.set(malformed=kind)
    with pytest.raises(UpstreamMalformed):
        await client.validate_purchase(SAMPLE_PURCHASE_CODES["regular licence, supported"])


async def test_faults_switched_on_over_http_reach_the_client(cryptogig_sandbox: Any, client: CryptoGigClient) -> None:
    async with httpx.AsyncClient(base_url=cryptogig_sandbox.url) as raw:
        answer = await raw.post("/_sandbox/faults", json={"status": 503})
    assert answer.json()["status"] == 503
    with pytest.raises(UpstreamUnavailable):
        await client.item(101)


@pytest.mark.parametrize(
    "how",
    [
        {"params": {"api_key": SANDBOX_API_KEY}},
        {"data": {"api_key": SANDBOX_API_KEY}},
        {"json": {"api_key": SANDBOX_API_KEY}},
        {"headers": {"Authorization": f"Bearer {SANDBOX_API_KEY}"}},
    ],
    ids=["query", "form", "json", "bearer"],
)
async def test_sandbox_takes_the_api_key_from_query_form_json_or_bearer_header(
    cryptogig_sandbox: Any, how: dict[str, Any]
) -> None:
    async with httpx.AsyncClient(base_url=cryptogig_sandbox.url) as raw:
        answer = await raw.post(VALIDATION, params={"purchase_code": "nope"} | how.pop("params", {}), **how)
    assert answer.json() == {"status": "error", "msg": "Invalid purchase code"}


async def test_sandbox_refuses_a_missing_api_key_with_401(cryptogig_sandbox: Any) -> None:
    async with httpx.AsyncClient(base_url=cryptogig_sandbox.url) as raw:
        answer = await raw.get(ITEMS)
    assert (answer.status_code, answer.json()) == (401, {"status": "error", "msg": "Invalid API key"})


async def test_sandbox_answers_400_to_a_non_numeric_item_id(cryptogig_sandbox: Any) -> None:
    async with httpx.AsyncClient(base_url=cryptogig_sandbox.url) as raw:
        answer = await raw.get("/api/items/item", params={"api_key": SANDBOX_API_KEY, "item_id": "abc"})
    assert answer.status_code == 400
    assert answer.json()["status"] == "error"


async def test_sandbox_reset_restores_the_seed(cryptogig_sandbox: Any, client: CryptoGigClient) -> None:
    cryptogig_sandbox.data.items.clear()
    cryptogig_sandbox.data.reset()
    assert len(await client.items()) >= 6
    assert cryptogig_sandbox.data.requests[ITEMS] == 1
