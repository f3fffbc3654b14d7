"""Settings: defaults per the contract, and one readable line for each bad value."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.core.config import SettingsError, load_settings


def test_defaults_follow_the_configuration_contract(monkeypatch):
    for name in ("DATABASE_URL", "POLL_INTERVAL_SECONDS", "GAVEL_ADMINS", "CRYPTOGIG_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(_env_file=None)
    assert settings.cryptogig_base_url == "https://ns2.cryptogig.com"
    assert settings.auctionity_base_url == "https://api.auctionity.com"
    assert settings.database_url == "sqlite:///./gavel.db"
    assert settings.poll_interval_seconds == 30 and settings.ending_soon_minutes == 10
    assert settings.gavel_admins == frozenset()


def test_admins_are_parsed_from_a_comma_separated_list(monkeypatch):
    monkeypatch.setenv("GAVEL_ADMINS", "telegram:123, discord:456")
    settings = load_settings(_env_file=None)
    assert settings.is_admin("telegram:123") and settings.is_admin("discord:456")
    assert not settings.is_admin("telegram:456")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("POLL_INTERVAL_SECONDS", "soon", "POLL_INTERVAL_SECONDS is invalid: expected a whole number of seconds"),
        ("POLL_INTERVAL_SECONDS", "-5", "POLL_INTERVAL_SECONDS is invalid"),
        ("DATABASE_URL", "not a url at all", "DATABASE_URL is invalid: expected an SQLAlchemy URL"),
        ("GAVEL_ADMINS", "root", "GAVEL_ADMINS is invalid: expected a comma-separated list of platform:user_id"),
        ("GAVEL_SECRET_KEY", "change-me", "GAVEL_SECRET_KEY is invalid: expected a Fernet key"),
        ("DEFAULT_LANGUAGE", "klingon", "DEFAULT_LANGUAGE is invalid: expected a language Gavel speaks: en, es, ru"),
    ],
)
def test_bad_setting_gives_one_line_naming_it(monkeypatch, name, value, expected):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)


def _coverage_env() -> dict[str, str]:
    """coverage.py's own variables, so that `make test` measures these `gavel` processes too; Gavel reads none."""
    return {name: value for name, value in os.environ.items() if name.startswith("COVERAGE_")}


def test_gavel_cli_stops_on_a_bad_setting_without_traceback(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "POLL_INTERVAL_SECONDS": "abc", "HOME": str(tmp_path), **_coverage_env()}
    result = subprocess.run(
        [sys.executable, "-m", "bot.wiring.cli", "run"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "gavel: POLL_INTERVAL_SECONDS is invalid: expected a whole number of seconds between 1 and 86400."
    ]


def test_gavel_run_refuses_to_start_without_secret_key(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TELEGRAM_BOT_TOKEN": "1:x", **_coverage_env()}
    result = subprocess.run(
        [sys.executable, "-m", "bot.wiring.cli", "run"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "gavel keygen" in result.stderr and "Traceback" not in result.stderr


def test_env_example_lists_every_setting():
    from pathlib import Path

    from bot.core.config import Settings

    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    listed = {line.split("=", 1)[0] for line in example.splitlines() if "=" in line and not line.startswith("#")}
    missing = {name.upper() for name in Settings.model_fields} - listed
    assert not missing, f".env.example does not list {sorted(missing)}"
