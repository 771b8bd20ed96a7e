"""deploy/: the Dockerfile's shape, the compose file (validated where docker-compose exists),
the systemd unit's hardening (checked by systemd where systemd-analyze exists), secrets kept out
of git."""

from __future__ import annotations

import configparser
import os
import re
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
    # An exact release on a named Debian, the Python the tests and constraints.txt ran on.
    assert re.fullmatch(r"FROM python:3\.11\.\d+-slim-bookworm", instructions[0])
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
    assert re.fullmatch(r"postgres:15\.\d+-bookworm", db["image"]), db["image"]
    assert "pgdata" in compose["volumes"]
    assert "healthcheck" in bot and "healthcheck" in db
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert bot["env_file"] == ["psgbot.env"]
    assert bot["build"]["dockerfile"] == "deploy/Dockerfile"


def interpolate(text: str, environment: dict[str, str]) -> str:
    """Compose's variable syntax, as far as deploy/ uses it: ${NAME}, ${NAME:-default} and
    ${NAME:?error}, which stops compose with the error when NAME is unset or empty."""

    def one(match: re.Match[str]) -> str:
        name, operator, word = match.group(1), match.group(2), match.group(3) or ""
        value = environment.get(name, "")
        if operator == ":?" and not value:
            raise ValueError(f"{name}: {word}")
        if operator == ":-" and not value:
            return word
        return value

    return re.sub(r"\$\{(\w+)(?:(:\?|:-)([^}]*))?\}", one, text)


def test_compose_refuses_to_start_without_a_database_password() -> None:
    text = (DEPLOY / "docker-compose.yml").read_text()
    assert "change-me" not in text
    with pytest.raises(ValueError, match=r"set POSTGRES_PASSWORD in deploy/\.env"):
        interpolate(text, {})
    with pytest.raises(ValueError, match="POSTGRES_PASSWORD"):
        interpolate(text, {"POSTGRES_PASSWORD": ""})
    compose = yaml.safe_load(interpolate(text, {"POSTGRES_PASSWORD": "0123abcd"}))
    bot, db = compose["services"]["bot"], compose["services"]["db"]
    assert db["environment"]["POSTGRES_PASSWORD"] == "0123abcd"
    url = bot["environment"]["PSGBOT_DATABASE_URL"]
    assert url == "postgresql://psgbot:0123abcd@db:5432/psgbot"


def test_files_holding_secrets_are_git_ignored() -> None:
    git = shutil.which("git")
    if git is None or not (PROJECT_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    for path in ("deploy/psgbot.env", "deploy/.env", ".env"):
        result = subprocess.run(
            [git, "check-ignore", "--quiet", "--no-index", path], cwd=PROJECT_ROOT
        )
        assert result.returncode == 0, f"{path} is not git-ignored"


def test_deploy_readme_says_how_to_keep_and_update_things() -> None:
    readme = (DEPLOY / "README.md").read_text()
    assert "chmod 600" in readme and "/etc/psgbot/psgbot.env" in readme
    assert "## 11. Updating the base images" in readme
    for pinned in ("python:3.11.", "postgres:15."):
        assert pinned in readme


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
    environment = {k: v for k, v in os.environ.items() if k != "POSTGRES_PASSWORD"}
    config = [*command, "-f", str(copy / "docker-compose.yml"), "config", "-q"]
    result = subprocess.run(
        config,
        env={**environment, "POSTGRES_PASSWORD": "0123abcd"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    refused = subprocess.run(config, env=environment, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "set POSTGRES_PASSWORD" in refused.stderr


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
    assert service["CapabilityBoundingSet"] == ""
    assert service["RestrictAddressFamilies"].split() == ["AF_UNIX", "AF_INET", "AF_INET6"]
    assert service["SystemCallFilter"] == "@system-service"
    assert service["UMask"] == "0077"
    assert service["ProtectProc"] == "invisible"
    assert service["RestartPreventExitStatus"] == "2"


def test_systemd_accepts_every_line_of_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # verify wants ExecStart's program to exist; everything else is checked as written.
    unit = (DEPLOY / "psgbot.service").read_text()
    copy = tmp_path / "psgbot.service"
    copy.write_text(re.sub(r"(?m)^ExecStart=.*$", f"ExecStart={shutil.which('true')}", unit))
    result = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60
    )
    complaints = [line for line in result.stderr.splitlines() if str(copy) in line]
    assert result.returncode == 0 and complaints == [], result.stderr
