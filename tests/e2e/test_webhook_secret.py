"""Webhook replicas share one secret: `gavel run` in webhook mode refuses to start without TELEGRAM_WEBHOOK_SECRET,
rather than making up a secret of its own that the other replicas do not know (Telegram keeps the last one set, so
every other replica would answer 403). `gavel run` is a real subprocess; nothing it could reach is beyond loopback.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.e2e.test_restart_safety import REPO_ROOT

pytestmark = pytest.mark.slow


def gavel_run(tmp_path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GAVEL_", "TELEGRAM_", "DISCORD_", "DATABASE_"))},
        "PYTHONPATH": str(REPO_ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'gavel.db'}",
        "TELEGRAM_BOT_TOKEN": "123456:TEST-fake-telegram-token",
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot",  # nothing listens: a started bot fails at getMe
        "TELEGRAM_WEBHOOK_URL": "https://bot.example.test/telegram/hook",
        "TELEGRAM_WEBHOOK_PORT": "0",
        **settings,
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.wiring.cli", "run"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_webhook_mode_refuses_to_start_without_a_secret(tmp_path, secret_key):
    for unset in ({}, {"TELEGRAM_WEBHOOK_SECRET": ""}):
        ran = gavel_run(tmp_path, GAVEL_SECRET_KEY=secret_key, **unset)
        assert ran.returncode == 2, ran.stderr[-2000:]
        lines = ran.stderr.strip().splitlines()
        assert len(lines) == 1 and "TELEGRAM_WEBHOOK_SECRET" in lines[0], ran.stderr
        assert "123456:TEST" not in ran.stderr + ran.stdout


def test_a_webhook_secret_telegram_would_refuse_is_said_at_start(tmp_path, secret_key):
    ran = gavel_run(tmp_path, GAVEL_SECRET_KEY=secret_key, TELEGRAM_WEBHOOK_SECRET="has spaces and = signs")
    assert ran.returncode == 2
    assert "TELEGRAM_WEBHOOK_SECRET is invalid" in ran.stderr and "= signs" not in ran.stderr
