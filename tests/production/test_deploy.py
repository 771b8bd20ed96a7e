"""deploy/: the Dockerfile's shape, the compose file (checked against the Compose keys it uses),
the systemd unit's hardening (checked by systemd where systemd-analyze exists), secrets kept out
of git."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

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
    assert "healthcheck" in bot
    assert "healthcheck" in db
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
    assert "chmod 600" in readme
    assert "/etc/psgbot/psgbot.env" in readme
    assert "## 11. Updating the base images" in readme
    for pinned in ("python:3.11.", "postgres:15."):
        assert pinned in readme


# The parts of the Compose Specification (https://compose-spec.io) deploy/ may use; anything else
# is a typo or a feature this check would first have to learn.
COMPOSE_TOP = {"name", "services", "volumes", "networks", "configs", "secrets"}
COMPOSE_SERVICE = {
    "build", "image", "command", "entrypoint", "environment", "env_file", "depends_on", "ports",
    "expose", "volumes", "restart", "healthcheck", "user", "read_only", "security_opt",
    "cap_drop", "cap_add", "tmpfs", "logging", "networks", "labels", "stop_grace_period",
    "deploy", "init", "working_dir", "ulimits", "mem_limit", "cpus", "secrets", "configs",
}  # fmt: skip
COMPOSE_HEALTHCHECK = {"test", "interval", "timeout", "retries", "start_period", "disable"}
DURATION = re.compile(r"^(\d+(\.\d+)?(us|ms|s|m|h))+$")
PORT = re.compile(r"^((\d{1,3}\.){3}\d{1,3}:)?\d{1,5}(:\d{1,5})?(/(tcp|udp))?$")


def compose_problems(compose: dict[str, Any], folder: Path) -> list[str]:
    """What ``docker compose config`` would refuse in deploy/'s compose file, as far as that
    file uses Compose: unknown keys, bad durations and ports, dangling references, missing
    files."""
    problems = [f"unknown top-level key {key}" for key in set(compose) - COMPOSE_TOP]
    services = compose.get("services") or {}
    declared_volumes = set(compose.get("volumes") or {})
    for name, service in services.items():
        problems += [f"{name}: unknown key {key}" for key in set(service) - COMPOSE_SERVICE]
        if "image" not in service and "build" not in service:
            problems.append(f"{name}: neither image nor build")
        build = service.get("build")
        if isinstance(build, dict):
            context = folder / build.get("context", ".")
            if not (context / build.get("dockerfile", "Dockerfile")).is_file():
                problems.append(f"{name}: no Dockerfile at {build.get('dockerfile')}")
        for env_file in service.get("env_file") or []:
            if not (folder / env_file).is_file():
                problems.append(f"{name}: env_file {env_file} does not exist")
        for other, condition in (service.get("depends_on") or {}).items():
            if other not in services:
                problems.append(f"{name}: depends on unknown service {other}")
            if condition.get("condition") not in {
                "service_started",
                "service_healthy",
                "service_completed_successfully",
            }:
                problems.append(f"{name}: bad depends_on condition {condition}")
        for port in service.get("ports") or []:
            if not PORT.match(str(port)):
                problems.append(f"{name}: bad port {port}")
        for volume in service.get("volumes") or []:
            source = str(volume).split(":", 1)[0]
            if not source.startswith((".", "/")) and source not in declared_volumes:
                problems.append(f"{name}: volume {source} is not declared")
        healthcheck = service.get("healthcheck") or {}
        problems += [
            f"{name}: unknown healthcheck key {key}"
            for key in set(healthcheck) - COMPOSE_HEALTHCHECK
        ]
        for key in ("interval", "timeout", "start_period"):
            if key in healthcheck and not DURATION.match(str(healthcheck[key])):
                problems.append(f"{name}: bad duration {key}={healthcheck[key]}")
        test = healthcheck.get("test")
        if test is not None and not (
            isinstance(test, str) or (test and test[0] in {"CMD", "CMD-SHELL", "NONE"})
        ):
            problems.append(f"{name}: healthcheck test must start with CMD or CMD-SHELL")
        for key, value in (service.get("environment") or {}).items():
            if not isinstance(value, str | int | float | bool) and value is not None:
                problems.append(f"{name}: environment {key} is not a scalar")
    return problems


def test_compose_file_is_valid_compose(tmp_path: Path) -> None:
    """The compose file, interpolated as compose does, passes the structural check (no docker
    needed); a deliberately broken copy does not, so the check can fail."""
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy)
    shutil.copy(PROJECT_ROOT / ".env.example", copy / "psgbot.env")
    text = (copy / "docker-compose.yml").read_text()
    compose = yaml.safe_load(interpolate(text, {"POSTGRES_PASSWORD": "0123abcd"}))
    assert compose_problems(compose, copy) == []
    broken = yaml.safe_load(interpolate(text, {"POSTGRES_PASSWORD": "0123abcd"}))
    broken["services"]["bot"]["restar"] = "always"
    broken["services"]["bot"]["depends_on"]["db"]["condition"] = "healthy"
    broken["services"]["db"]["volumes"] = ["pgdat:/var/lib/postgresql/data"]
    broken["services"]["db"]["healthcheck"]["interval"] = "10 seconds"
    assert len(compose_problems(broken, copy)) == 4
    (copy / "psgbot.env").unlink()
    assert compose_problems(compose, copy) == ["bot: env_file psgbot.env does not exist"]


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
    assert result.returncode == 0, result.stderr
    assert complaints == [], result.stderr
