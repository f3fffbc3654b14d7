"""Settings from the environment and .env, per the configuration contract in ARCHITECTURE.md."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.core import i18n

PLATFORMS = ("telegram", "discord", "console")  # every platform a person can be on (GAVEL_ADMINS, imports)
ADMIN_ENTRY = re.compile(rf"^({'|'.join(PLATFORMS)}):[A-Za-z0-9_.@-]{{1,64}}$")

# What each setting expects, said once, for the one-line start-up error.
EXPECTATIONS = {
    "poll_interval_seconds": "a whole number of seconds between 1 and 86400",
    "ending_soon_minutes": "a whole number of minutes between 1 and 10080",
    "hot_minutes": "a whole number of minutes between 0 and 1440",
    "hot_poll_seconds": "a whole number of seconds between 1 and 3600",
    "database_url": "an SQLAlchemy URL such as sqlite:///./gavel.db or postgresql://user:pass@host/db",
    "gavel_admins": "a comma-separated list of platform:user_id, e.g. telegram:123,discord:456",
    "gavel_secret_key": "a Fernet key: run `gavel keygen` to make one",
    "cryptogig_base_url": "an http(s) URL",
    "auctionity_base_url": "an http(s) URL",
    "telegram_api_base_url": "an http(s) URL such as http://host:8081/bot",
    "max_claims_per_code": "a whole number of at least 1",
    "verify_max_failures": "a whole number of at least 1",
    "verify_window_minutes": "a whole number of minutes of at least 1",
    "verify_code_max_failures": "a whole number of at least 1",
    "verify_code_window_minutes": "a whole number of minutes of at least 1",
    "login_max_failures": "a whole number of at least 1",
    "login_window_minutes": "a whole number of minutes of at least 1",
    "reset_max_emails": "a whole number of at least 1",
    "reset_window_minutes": "a whole number of minutes of at least 1",
    "verify_recheck_seconds": "a whole number of seconds of at least 60",
    "verify_recheck_per_minute": "a whole number between 1 and 6000",
    "audit_retention_days": "a whole number of days of at least 1",
    "notification_retention_days": "a whole number of days of at least 1",
    "button_retention_days": "a whole number of days of at least 1",
    "auction_retention_days": "a whole number of days of at least 1",
    "discord_guild_id": "a Discord server id (digits)",
    "discord_shard_count": "a whole number of gateway shards, at least 1",
    "discord_shard_id": "this process's shard, from 0 to DISCORD_SHARD_COUNT - 1",
    "discord_api_base_url": "an http(s) URL such as http://nirn-proxy:8080/api/v10",
    "discord_gateway_url": "a ws(s) URL such as ws://gateway-proxy:7878",
    "metrics_port": "a TCP port between 1 and 65535, or nothing to serve no /healthz and /metrics",
    "default_language": f"a language Gavel speaks: {', '.join(i18n.LANGUAGES)}",
    "metrics_listen": "an address to listen on, such as 127.0.0.1 or 0.0.0.0",
    "dashboard_port": "a TCP port between 1 and 65535, or nothing to serve no dashboard",
    "dashboard_listen": "an address to listen on, such as 127.0.0.1 or 0.0.0.0",
    "dashboard_url": "the dashboard's public http(s) URL, such as https://desk.example.com",
    "cryptogig_per_second": "a number of calls a second, above 0 and at most 1000",
    "telegram_webhook_secret": "1 to 256 letters, digits, _ or - (Telegram's rule), e.g. `openssl rand -hex 32`",
    "cards_per_chat": "a whole number of live cards, at least 1",
    "cards_per_user": "a whole number of live cards, at least 1",
    "card_edit_seconds": "a whole number of seconds between 0 and 3600",
}


# Settings that may be left out: a blank value (NAME= in .env) means "not set", whatever the type.
OPTIONAL = (
    "cryptogig_api_key", "telegram_bot_token", "telegram_api_base_url", "telegram_webhook_url",
    "telegram_webhook_secret", "discord_bot_token", "discord_guild_id", "discord_shard_count", "discord_shard_id",
    "discord_api_base_url", "discord_gateway_url", "gavel_secret_key", "metrics_port", "dashboard_port",
    "dashboard_url",
)  # fmt: skip


class SettingsError(Exception):
    """A setting has a bad value; the message is one line naming it and what it expects."""


def _http_url(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError("not an http(s) URL")
    return value.rstrip("/")


def _ws_url(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not re.match(r"^wss?://[^\s/]+", value):
        raise ValueError("not a ws(s) URL")
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    cryptogig_base_url: str = "https://ns2.cryptogig.com"
    cryptogig_api_key: SecretStr | None = None
    auctionity_base_url: str = "https://api.auctionity.com"
    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_webhook_listen: str = "127.0.0.1"
    telegram_webhook_port: int = 8443
    discord_bot_token: SecretStr | None = None
    discord_guild_id: int | None = None
    # Large bots split Discord's gateway: each `gavel run` replica takes one shard of DISCORD_SHARD_COUNT.
    discord_shard_count: int | None = Field(None, ge=1)
    discord_shard_id: int | None = Field(None, ge=0)
    # A REST proxy (nirn-proxy) and a gateway proxy in front of Discord; None: Discord's own.
    discord_api_base_url: str | None = None
    # None: what DISCORD_API_BASE_URL's GET /gateway/bot answers when that is set, else Discord's own.
    discord_gateway_url: str | None = None
    database_url: str = "sqlite:///./gavel.db"
    gavel_secret_key: SecretStr | None = None
    gavel_admins: Annotated[frozenset[str], NoDecode] = frozenset()
    poll_interval_seconds: int = Field(30, ge=1, le=86400)
    ending_soon_minutes: int = Field(10, ge=1, le=10080)
    # The last minutes decide an auction: watched auctions that end within HOT_MINUTES are polled every
    # HOT_POLL_SECONDS, within a budget (bot/alerts/poller.py hot_every). 0 turns it off.
    hot_minutes: int = Field(5, ge=0, le=1440)
    hot_poll_seconds: int = Field(5, ge=1, le=3600)
    max_claims_per_code: int = Field(1, ge=1)
    verify_max_failures: int = Field(5, ge=1)
    verify_window_minutes: int = Field(15, ge=1)
    # Failures with one code, whoever tries it: a claimed code tried from many accounts stops being tried.
    verify_code_max_failures: int = Field(5, ge=1)
    verify_code_window_minutes: int = Field(60, ge=1)
    # Logins come from the bot's one address: Auctionity's own lockout would hit every user at once.
    login_max_failures: int = Field(5, ge=1)
    login_window_minutes: int = Field(15, ge=1)
    reset_max_emails: int = Field(3, ge=1)
    reset_window_minutes: int = Field(60, ge=1)
    # Every active claim is re-validated with CryptoGig about once a period, paced so it never bursts it.
    verify_recheck_seconds: int = Field(86400, ge=60)
    verify_recheck_per_minute: int = Field(30, ge=1, le=6000)
    audit_retention_days: int = Field(180, ge=1)
    # Pruned every hour: sent alerts, button tokens (older buttons answer "expired"), and the state of ended
    # auctions with their finished watches, auto-bids and cards.
    notification_retention_days: int = Field(14, ge=1)
    button_retention_days: int = Field(90, ge=1)
    auction_retention_days: int = Field(30, ge=1)
    notify_new_bids: bool = False
    # For readers whose platform names no language Gavel speaks (and staff logs, cards): en, es or ru.
    default_language: str = "en"
    http_timeout_seconds: float = Field(10.0, gt=0, le=120)
    log_level: str = "INFO"
    # /healthz and /metrics (Prometheus); off unless a port is set. Loopback unless told otherwise.
    metrics_port: int | None = Field(None, gt=0, lt=65536)
    metrics_listen: str = "127.0.0.1"
    # The staff web dashboard (bot/dashboard): off unless a port is set; loopback unless told otherwise, behind a
    # TLS proxy. DASHBOARD_URL is its public base, used in the sign-in links the bot sends.
    dashboard_port: int | None = Field(None, gt=0, lt=65536)
    dashboard_listen: str = "127.0.0.1"
    dashboard_url: str | None = None
    # The budget of CryptoGig calls that are not a user's own (a staff import), evenly paced.
    cryptogig_per_second: float = Field(10, gt=0, le=1000)
    # Live cards (/post) share the bot's sending budget with alerts: at most this many at once in one chat, and
    # posted by one person across all chats; a card is edited at most once a CARD_EDIT_SECONDS.
    cards_per_chat: int = Field(10, ge=1)
    cards_per_user: int = Field(30, ge=1)
    card_edit_seconds: int = Field(10, ge=0, le=3600)

    @field_validator(
        "cryptogig_base_url",
        "auctionity_base_url",
        "telegram_api_base_url",
        "telegram_webhook_url",
        "discord_api_base_url",
        "dashboard_url",
    )
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return _http_url(value)

    @field_validator("telegram_webhook_secret", mode="before")
    @classmethod
    def _check_webhook_secret(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None  # .env.example's TELEGRAM_WEBHOOK_SECRET= means "not set"
        raw = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", raw):
            raise ValueError("Telegram takes 1-256 characters A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("discord_gateway_url")
    @classmethod
    def _check_gateway_url(cls, value: str | None) -> str | None:
        return _ws_url(value)

    @field_validator(*OPTIONAL, mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # .env.example lists these as NAME= ; copied as is, that means "not set", not "invalid" nor an empty key.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        try:
            make_url(value)
        except (ArgumentError, ValueError) as exc:
            raise ValueError("unparseable database URL") from exc
        return value

    @field_validator("default_language")
    @classmethod
    def _check_language(cls, value: str) -> str:
        language = i18n.shipped(value)
        if language is None:
            raise ValueError(f"Gavel speaks {', '.join(i18n.LANGUAGES)}")
        return language

    @field_validator("gavel_admins", mode="before")
    @classmethod
    def _parse_admins(cls, value: Any) -> frozenset[str]:
        if value is None or value == "":
            return frozenset()
        entries = value.split(",") if isinstance(value, str) else list(value)
        admins = set()
        for entry in entries:
            entry = str(entry).strip()
            if not entry:
                continue
            if not ADMIN_ENTRY.match(entry):
                raise ValueError(f"bad entry {entry[:40]!r}")
            admins.add(entry)
        return frozenset(admins)

    @field_validator("gavel_secret_key")
    @classmethod
    def _check_secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        from storage.crypto import validate_key

        validate_key(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _check_shard(self) -> Settings:
        if self.discord_shard_id is not None and (
            self.discord_shard_count is None or self.discord_shard_id >= self.discord_shard_count
        ):
            raise ValueError("DISCORD_SHARD_ID needs DISCORD_SHARD_COUNT, and must be below it")
        return self

    def is_admin(self, who: str) -> bool:
        return who in self.gavel_admins

    @property
    def dashboard_base_url(self) -> str | None:
        """Where the dashboard's links point: DASHBOARD_URL, else the address it listens on; None when it is off."""
        if self.dashboard_port is None:
            return None
        if self.dashboard_url:
            return self.dashboard_url
        host = "127.0.0.1" if self.dashboard_listen in ("", "0.0.0.0", "::") else self.dashboard_listen  # noqa: S104
        return f"http://[{host}]:{self.dashboard_port}" if ":" in host else f"http://{host}:{self.dashboard_port}"

    def secrets(self) -> list[str]:
        """Every secret value set, for the log redaction filter."""
        values = [
            self.cryptogig_api_key,
            self.telegram_bot_token,
            self.discord_bot_token,
            self.gavel_secret_key,
            self.telegram_webhook_secret,
        ]
        return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]


def load_settings(**overrides: Any) -> Settings:
    """Settings from env/.env (overrides win), or SettingsError with one readable line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error.get("loc") else "settings"
        expected = EXPECTATIONS.get(name, error.get("msg", "a valid value"))
        raise SettingsError(f"{name.upper()} is invalid: expected {expected}.") from None
