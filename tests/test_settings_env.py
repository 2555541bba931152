"""Configuration from the environment: typed readers that fail loudly, and what settings make of it.

Settings are loaded in a subprocess with a controlled environment, so nothing set here can leak
into the settings of the test process itself.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_choice, env_int, env_list, env_optional, env_str

REPO_ROOT = Path(__file__).resolve().parent.parent

# Every variable config/settings.py reads is removed from the subprocess's environment, or it would
# inherit e.g. the services pass's DATABASE_URL and test that instead of "unset".
_APP_VARIABLES = set(re.findall(r"\benv_\w+\(\s*\"([A-Z0-9_]+)\"", (REPO_ROOT / "config" / "settings.py").read_text()))


def load_settings(expression: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Imports config.settings in a fresh interpreter with exactly ``env`` set and prints ``expression``."""
    clean = {key: value for key, value in os.environ.items() if key not in _APP_VARIABLES}
    clean["DJANGO_SETTINGS_MODULE"] = "config.settings"
    clean.update(env)
    code = f"from django.conf import settings; print({expression})"
    return subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=clean, capture_output=True, text=True,
                          timeout=60, check=False)


def loaded(expression: str, **env: str) -> str:
    result = load_settings(expression, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def refused(**env: str) -> str:
    """Settings refuse to load; returns stderr, which must name the problem."""
    result = load_settings("settings.DEBUG", **env)
    assert result.returncode != 0, f"settings loaded: {result.stdout}"
    assert "ImproperlyConfigured" in result.stderr
    return result.stderr


# --- the readers --------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("Yes", True), (" on ", True), ("0", False),
                                             ("false", False), ("", False)])
def test_it_reads_the_usual_boolean_spellings(monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    monkeypatch.setenv("X_BOOL", raw)
    assert env_bool("X_BOOL", not expected) is expected


def test_it_refuses_a_boolean_it_cannot_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BOOL", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_BOOL"):
        env_bool("X_BOOL", False)


def test_it_uses_the_default_boolean_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("X_BOOL", raising=False)
    assert env_bool("X_BOOL", True) is True


def test_it_refuses_an_integer_it_cannot_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_INT", "abc")
    with pytest.raises(ImproperlyConfigured, match="X_INT"):
        env_int("X_INT", 1)


def test_it_refuses_an_integer_below_the_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_INT", "10")
    with pytest.raises(ImproperlyConfigured, match="minimum"):
        env_int("X_INT", 2048, minimum=1024)


def test_it_reads_an_integer_at_the_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_INT", " 1024 ")
    assert env_int("X_INT", 2048, minimum=1024) == 1024


def test_it_refuses_a_choice_outside_the_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_CHOICE", "staging")
    with pytest.raises(ImproperlyConfigured, match="development, production"):
        env_choice("X_CHOICE", ["development", "production"], "development")


def test_it_requires_a_string_without_a_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("X_STR", raising=False)
    with pytest.raises(ImproperlyConfigured, match="X_STR"):
        env_str("X_STR")


def test_it_treats_a_blank_optional_value_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_OPT", "   ")
    assert env_optional("X_OPT") is None


def test_it_splits_a_list_and_drops_empty_items(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_LIST", " a.example, ,b.example,")
    assert env_list("X_LIST", []) == ["a.example", "b.example"]


# --- what settings make of the environment (subprocess) ------------------------------------------


def test_it_uses_sqlite_when_database_url_is_unset() -> None:
    assert loaded("settings.DATABASES['default']['ENGINE']") == "django.db.backends.sqlite3"


def test_it_runs_tasks_eagerly_when_no_broker_is_set() -> None:
    assert loaded("settings.CELERY_TASK_ALWAYS_EAGER") == "True"


def test_it_sends_tasks_to_the_broker_when_one_is_set() -> None:
    assert loaded("settings.CELERY_TASK_ALWAYS_EAGER, settings.CELERY_RESULT_BACKEND",
                  CELERY_BROKER_URL="redis://h:6379/0") == "False redis://h:6379/0"


def test_it_queues_tasks_in_a_folder_for_the_demos_worker() -> None:
    # bin/demo: a real worker without Redis; the web process and the worker share one folder.
    shown = loaded("settings.CELERY_TASK_ALWAYS_EAGER, settings.CELERY_RESULT_BACKEND, "
                   "settings.CELERY_BROKER_TRANSPORT_OPTIONS['data_folder_in'] == "
                   "settings.CELERY_BROKER_TRANSPORT_OPTIONS['data_folder_out']", CELERY_BROKER_URL="filesystem://")
    assert shown == "False None True"


def test_it_lets_the_demos_web_server_and_worker_share_the_sqlite_file() -> None:
    assert loaded("settings.DATABASES['default']['OPTIONS']['init_command']") == "PRAGMA journal_mode=WAL;"


def test_it_uses_postgresql_for_a_postgres_database_url() -> None:
    out = loaded("settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['NAME']",
                 DATABASE_URL="postgres://u:p@h:5432/d")
    assert out == "django.db.backends.postgresql d"


def test_it_refuses_production_without_a_secret_key() -> None:
    assert "DJANGO_SECRET_KEY" in refused(DJANGO_ENV="production")


def test_it_runs_production_without_debug() -> None:
    assert loaded("settings.DEBUG", DJANGO_ENV="production", DJANGO_SECRET_KEY="s" * 50) == "False"


def test_it_refuses_an_unknown_environment_name() -> None:
    assert "DJANGO_ENV" in refused(DJANGO_ENV="staging")


def test_it_refuses_a_debug_flag_it_cannot_parse() -> None:
    assert "DJANGO_DEBUG" in refused(DJANGO_DEBUG="maybe")


def test_it_refuses_an_import_limit_below_the_minimum() -> None:
    assert "IMPORT_MAX_BYTES" in refused(IMPORT_MAX_BYTES="10")
