"""docker-compose.yml and the Dockerfile refer only to things that exist in the project.

No Docker engine is needed: the files are parsed and every module, Celery app, management command,
URL, file and environment variable they name is looked up in the project itself.
"""

from __future__ import annotations

import importlib
import re
import shlex
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml
from celery import Celery
from celery.app.utils import find_app
from django.core.management import get_commands
from django.urls import Resolver404, resolve
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()
REQUIRED = ["postgres", "redis", "web", "worker", "beat"]
APP_SERVICES = [name for name, service in SERVICES.items() if "build" in service]


def _argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def _healthcheck_argv(service: dict[str, Any]) -> list[str]:
    test = service["healthcheck"]["test"]
    if isinstance(test, str):
        return shlex.split(test)
    kind, *rest = test
    return shlex.split(rest[0]) if kind == "CMD-SHELL" else rest


def _all_commands() -> list[list[str]]:
    """Every command line in the compose file (commands and healthchecks) and the Dockerfile's RUN lines."""
    commands = [_argv(s["command"]) for s in SERVICES.values() if "command" in s]
    commands += [_healthcheck_argv(s) for s in SERVICES.values() if "healthcheck" in s]
    for run in re.findall(r"^RUN\s+(.*?)(?<!\\)$", DOCKERFILE, flags=re.MULTILINE | re.DOTALL):
        for part in re.split(r"&&|;", run.replace("\\\n", " ")):
            commands.append(shlex.split(part))
    return commands


def _settings_env_names() -> set[str]:
    source = (REPO_ROOT / "config" / "settings.py").read_text()
    return set(re.findall(r"\benv_\w+\(\s*\"([A-Z0-9_]+)\"", source))


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the "- KEY=value" spelling
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return env


def test_it_defines_the_five_services() -> None:
    assert set(REQUIRED) <= set(SERVICES)


@pytest.mark.parametrize("name", REQUIRED)
def test_it_gives_each_service_a_healthcheck(name: str) -> None:
    assert SERVICES[name]["healthcheck"]["test"]


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
def test_it_starts_app_services_only_after_healthy_databases_and_migrations(name: str) -> None:
    depends_on = SERVICES[name]["depends_on"]
    assert depends_on["postgres"]["condition"] == "service_healthy"
    assert depends_on["redis"]["condition"] == "service_healthy"
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"


def test_it_migrates_in_a_one_shot_service() -> None:
    migrate = SERVICES["migrate"]
    assert _argv(migrate["command"])[-3:] == ["manage.py", "migrate", "--noinput"]
    assert migrate["restart"] == "no"


def test_it_serves_web_with_gunicorn_on_an_importable_wsgi_application() -> None:
    argv = _argv(SERVICES["web"]["command"])
    assert argv[0] == "gunicorn"
    module_name, attribute = next(arg for arg in argv[1:] if not arg.startswith("-")).split(":")
    assert callable(getattr(importlib.import_module(module_name), attribute))


@pytest.mark.parametrize("name", ["worker", "beat"])
def test_it_points_celery_at_the_project_app(name: str) -> None:
    commands = [_argv(SERVICES[name]["command"]), _healthcheck_argv(SERVICES[name])]
    celery_commands = [argv for argv in commands if argv[0] == "celery"]
    assert celery_commands, f"{name} runs no celery command"
    for argv in celery_commands:
        app = find_app(argv[argv.index("-A") + 1])
        assert isinstance(app, Celery)
        assert app is importlib.import_module("config.celery").app


def test_it_uses_only_existing_management_commands() -> None:
    known = get_commands()
    used = [argv[argv.index("manage.py") + 1] for argv in _all_commands() if "manage.py" in argv]
    assert used, "expected at least migrate and collectstatic"
    assert [name for name in used if name not in known] == []


def test_it_probes_an_existing_healthz_url() -> None:
    probe = " ".join(_healthcheck_argv(SERVICES["web"]))
    path = re.search(r"https?://[^/'\"]+(/[^'\"\s]*)", probe).group(1)  # type: ignore[union-attr]
    try:
        resolve(path)
    except Resolver404:
        pytest.fail(f"the web healthcheck probes {path}, which config.urls does not route")


@pytest.mark.parametrize("name", APP_SERVICES)
def test_it_builds_app_services_from_a_directory_with_a_dockerfile(name: str) -> None:
    build = SERVICES[name]["build"]
    context = build if isinstance(build, str) else build.get("context", ".")
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    assert (REPO_ROOT / context / dockerfile).is_file()


@pytest.mark.parametrize("name", APP_SERVICES)
def test_it_sets_only_environment_variables_that_settings_reads(name: str) -> None:
    unknown = set(_environment(SERVICES[name])) - _settings_env_names()
    assert unknown == set(), f"config/settings.py reads none of {sorted(unknown)} (misspelt?)"


def test_it_runs_the_app_in_production_mode_with_a_required_secret_key() -> None:
    env = _environment(SERVICES["web"])
    assert env["DJANGO_ENV"] == "production"
    assert env["DJANGO_SECRET_KEY"].startswith("${DJANGO_SECRET_KEY:?")


def test_it_installs_requirement_files_that_exist_and_are_copied_first() -> None:
    installs = [(m.start(), m.group(1)) for m in re.finditer(r"pip install[^\n]*?-r\s+(\S+)", DOCKERFILE)]
    assert installs
    for position, name in installs:
        assert (REPO_ROOT / name).is_file()
        copied = re.search(rf"^COPY\s+(\S+\s+)*{re.escape(name)}\s", DOCKERFILE, flags=re.MULTILINE)
        assert copied and copied.start() < position, f"{name} is not copied into the image before pip install"


def _installed_closure(requirement_lines: list[str]) -> set[str]:
    """Names of every distribution pip installs for these requirement lines, extras included."""
    seen: set[str] = set()
    todo = [Requirement(line) for line in requirement_lines]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        for extra in [*sorted(requirement.extras), ""]:
            key = f"{name}[{extra}]"
            if key in seen:
                continue
            seen.add(key)
            for dependency in metadata.requires(name) or []:
                dep = Requirement(dependency)
                if dep.marker is None or dep.marker.evaluate({"extra": extra}):
                    todo.append(dep)
    return {key.split("[")[0] for key in seen}


def test_it_installs_what_the_redis_broker_needs_with_the_runtime_requirements() -> None:
    # The image has requirements.txt only. kombu's Redis transport imports modules that kombu
    # declares solely under its "redis" extra; the dev venv gets them from test tools by accident.
    lines = [line.split("#")[0].strip() for line in (REPO_ROOT / "requirements.txt").read_text().splitlines()]
    installed = _installed_closure([line for line in lines if line and not line.startswith("-")])
    requirements = [Requirement(dep) for dep in metadata.requires("kombu") or []]
    needed = {canonicalize_name(r.name) for r in requirements if r.marker and r.marker.evaluate({"extra": "redis"})}
    assert needed - installed == set(), "add celery[redis] (or the missing packages) to requirements.txt"


def test_it_runs_the_image_as_a_non_root_user() -> None:
    users = re.findall(r"^USER\s+(\S+)", DOCKERFILE, flags=re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}


def test_it_offers_the_read_replica_as_an_optional_streaming_standby_with_a_healthcheck() -> None:
    replica = SERVICES["postgres-replica"]
    assert replica["profiles"] == ["replica"]  # `docker compose up` without --profile replica leaves it out
    assert "pg_is_in_recovery()" in " ".join(_healthcheck_argv(replica))
    script = " ".join(_argv(replica["command"]))
    assert "pg_basebackup -h postgres" in script and " -R " in script
    assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"
    # The app never waits for an optional service: a missing replica only means reads on the primary.
    assert all("postgres-replica" not in SERVICES[name].get("depends_on", {}) for name in APP_SERVICES)


@pytest.mark.parametrize("name", ["web", "worker"])
def test_it_leaves_the_replica_url_empty_unless_env_sets_it(name: str) -> None:
    env = _environment(SERVICES[name])
    assert env["DATABASE_REPLICA_URL"] == "${DATABASE_REPLICA_URL:-}"
    assert "REPLICA_MAX_LAG_SECONDS" in env
