"""compose.yaml and the Dockerfile agree with Gavel: one image, PostgreSQL, migrations first, real settings only."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from bot.core.config import Settings
from bot.wiring.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {name.upper() for name in Settings.model_fields}
# Read by compose itself (and the postgres image), never by Gavel: listed in .env.example all the same.
COMPOSE_ONLY = {"POSTGRES_PASSWORD"}
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def gavel_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services built from this repository: those that run `gavel`."""
    return {name: service for name, service in compose["services"].items() if "build" in service}


def _interpolated(value: str) -> str:
    """``value`` as compose would hand it over with every variable given a sample value."""
    return re.sub(r"\$\{[^}]*\}", "secret", value)


def _instructions(name: str) -> list[str]:
    """The Dockerfile's ``name`` instructions (continuation lines joined), arguments only."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    return [line.split(None, 1)[1] for line in text.splitlines() if line.upper().startswith(name + " ")]


def test_every_gavel_service_runs_the_same_image(gavel_services):
    assert set(gavel_services) == {"migrate", "bot", "worker"}
    builds = {(service["build"], service.get("image")) for service in gavel_services.values()}
    assert len(builds) == 1, builds


def test_every_gavel_service_uses_the_compose_postgresql(compose, gavel_services):
    postgres = compose["services"]["postgres"]["environment"]
    for name, service in gavel_services.items():
        url = make_url(_interpolated(service["environment"]["DATABASE_URL"]))
        assert url.get_backend_name() == "postgresql", name
        assert (url.host, url.database, url.username) == (
            "postgres",
            postgres["POSTGRES_DB"],
            postgres["POSTGRES_USER"],
        )


def test_postgres_keeps_its_data_and_says_when_it_is_ready(compose):
    postgres = compose["services"]["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in compose["volumes"], "the data must live in a named volume, not in the container"


def test_the_bot_runs_chat_and_the_worker_runs_alerts_two_of_each(gavel_services):
    assert gavel_services["bot"]["command"] == ["run"]
    assert gavel_services["worker"]["command"] == ["worker"]
    for name in ("bot", "worker"):
        assert gavel_services[name]["deploy"]["replicas"] == 2


def test_migrations_run_once_before_anything_that_uses_the_database(gavel_services):
    migrate = gavel_services["migrate"]
    assert migrate["command"] == ["db", "upgrade"]
    assert build_parser().parse_args(migrate["command"]).action == "upgrade"
    assert migrate["restart"] == "no", "a finished one-shot must not be started again"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("bot", "worker"):
        assert gavel_services[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }


def test_long_running_services_serve_health_on_an_address_the_health_check_reaches(gavel_services):
    for name in ("bot", "worker"):
        environment = gavel_services[name]["environment"]
        assert 0 < int(environment["METRICS_PORT"]) < 65536
        assert environment["METRICS_LISTEN"] == "0.0.0.0"


def test_compose_sets_only_real_settings(gavel_services):
    for name, service in gavel_services.items():
        unknown = set(service["environment"]) - SETTINGS
        assert not unknown, f"{name} sets {sorted(unknown)}, which Gavel does not read"


def test_every_variable_compose_reads_is_a_setting_or_documented_as_compose_only():
    referenced = set(INTERPOLATION.findall((ROOT / "compose.yaml").read_text()))
    assert referenced - SETTINGS <= COMPOSE_ONLY, sorted(referenced - SETTINGS - COMPOSE_ONLY)
    example = (ROOT / ".env.example").read_text()
    for name in COMPOSE_ONLY:
        assert re.search(rf"^{name}=", example, re.MULTILINE), f".env.example does not list {name}"


def test_the_image_runs_gavel_as_a_user_other_than_root():
    (image,) = _instructions("FROM")
    assert image.startswith("python:3.11-slim")
    assert [json.loads(e) for e in _instructions("ENTRYPOINT")] == [["gavel"]]
    assert [json.loads(c) for c in _instructions("CMD")] == [["run"]]
    users = _instructions("USER")
    assert users, "the Dockerfile never leaves root"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_the_image_health_check_asks_healthz_on_metrics_port():
    (healthcheck,) = _instructions("HEALTHCHECK")
    assert "/healthz" in healthcheck
    assert "METRICS_PORT" in healthcheck and "METRICS_PORT" in SETTINGS
