"""What both upstream clients share: one long-lived httpx client, error mapping, JSON decoding, GET retries.

Only GETs go through ``retrying``: a POST that changes something (a bid, a signup) is
never retried automatically, since a retried bid can bid twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from bot.core import metrics
from bot.core.errors import UpstreamMalformed, UpstreamUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "gavel-bot/0.1 (+https://github.com/gavel-bot)"


def build_http_client(
    base_url: str,
    *,
    timeout: float | httpx.Timeout | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.AsyncClient:
    """One long-lived client per upstream: base_url, explicit timeouts, pooled connections."""
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    elif not isinstance(timeout, httpx.Timeout):
        timeout = httpx.Timeout(timeout)
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/"),
        timeout=timeout,
        transport=transport,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
        # Keep every pooled connection alive: upstream, each reconnect is a TLS handshake.
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=50),
        follow_redirects=False,
    )


async def send(client: httpx.AsyncClient, upstream: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """Send one request; transport failures become UpstreamUnavailable, 5xx too."""
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        metrics.upstream_request(upstream, "timeout")
        raise UpstreamUnavailable(f"{upstream} did not answer in time", upstream=upstream) from exc
    except httpx.HTTPError as exc:  # connect errors, protocol errors, closed connections
        metrics.upstream_request(upstream, "error")
        raise UpstreamUnavailable(f"{upstream} could not be reached", upstream=upstream) from exc
    metrics.upstream_request(upstream, response.status_code)
    if response.status_code >= 500:
        raise UpstreamUnavailable(
            f"{upstream} answered {response.status_code}", upstream=upstream, status=response.status_code
        )
    return response


def decode_json(response: httpx.Response, upstream: str) -> Any:
    """The body as JSON, or UpstreamMalformed for empty bodies, HTML pages and broken JSON."""
    text = response.text
    if not text.strip():
        raise UpstreamMalformed(f"{upstream} sent an empty answer", upstream=upstream, status=response.status_code)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UpstreamMalformed(
            f"{upstream} sent something that is not JSON", upstream=upstream, status=response.status_code
        ) from exc


async def retrying(call: Callable[[], Awaitable[T]], *, attempts: int = 3, max_wait: float = 2.0) -> T:
    """Run an idempotent call again on UpstreamUnavailable, with jittered exponential backoff."""
    if attempts <= 1:
        return await call()
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(UpstreamUnavailable),
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=0.1, max=max_wait),
        reraise=True,
    ):
        with attempt:
            return await call()
    raise AssertionError("unreachable")  # pragma: no cover
