"""deploy/: the Dockerfile's shape, the compose file (validated where docker-compose exists),
the systemd unit's hardening."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from psgbot.config import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"


def test_dockerfile_is_slim_non_root_and_health_checked() -> None:
    lines = [line.strip() for line in (DEPLOY / "Dockerfile").read_text().splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    assert instructions[0].startswith("FROM python:3.11-slim")
    assert any(line.startswith("USER psgbot") for line in instructions)
    assert any("HEALTHCHECK" in line for line in instructions)
    assert any("/healthz" in line for line in lines)
    assert any("pip install --constraint constraints.txt ." in line for line in lines)
    assert instructions[-1] == 'CMD ["psgbot", "run"]'
    for line in instructions:
        if line.startswith("COPY"):
            for source in line.split()[1:-1]:
                assert (PROJECT_ROOT / source).exists(), source


def test_compose_has_bot_and_postgres_with_health_checks() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    bot, db = compose["services"]["bot"], compose["services"]["db"]
    assert db["image"] == "postgres:15" and "pgdata" in compose["volumes"]
    assert "healthcheck" in bot and "healthcheck" in db
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert bot["env_file"] == ["psgbot.env"]
    assert bot["build"]["dockerfile"] == "deploy/Dockerfile"


def compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    return None


def test_compose_config_accepts_the_file(tmp_path: Path) -> None:
    command = compose_command()
    if command is None:
        pytest.skip("neither docker-compose nor the docker compose plugin is installed")
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy)
    shutil.copy(PROJECT_ROOT / ".env.example", copy / "psgbot.env")
    result = subprocess.run(
        [*command, "-f", str(copy / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_systemd_unit_restarts_and_is_hardened() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(DEPLOY / "psgbot.service")
    service = unit["Service"]
    assert service["Restart"] == "on-failure"
    assert service["EnvironmentFile"] == "/etc/psgbot/psgbot.env"
    assert service["ExecStart"].endswith("psgbot run")
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp"):
        assert service[key] == "yes", key
    assert service["ProtectSystem"] == "strict"
    assert service["User"] == "psgbot"
