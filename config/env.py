"""Typed readers for settings taken from the environment.

Every reader fails loudly (ImproperlyConfigured) on a value it cannot parse, so a typo in
production configuration stops the process at start-up instead of silently using a default.
"""

from __future__ import annotations

import os
import re

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"Environment variable {name} is required.")
        return default
    return value


def env_optional(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"Environment variable {name}={raw!r} is not a boolean (use one of 1/0, true/false, yes/no, on/off)."
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"Environment variable {name}={raw!r} is not an integer.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"Environment variable {name}={value} is below the minimum {minimum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, choices: list[str], default: str) -> str:
    value = os.environ.get(name, default).strip()
    if value not in choices:
        raise ImproperlyConfigured(f"Environment variable {name}={value!r} must be one of {', '.join(choices)}.")
    return value


# A request rate as Django REST framework spells it: "1200/min", "60/m", "10/second", "5000/day".
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$")


def env_rate(name: str, default: str) -> str:
    """A throttle rate, checked at start-up: DRF itself would only fail on the first request."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    match = _RATE.match(raw)
    if match is None or int(match[1]) < 1:
        raise ImproperlyConfigured(
            f"Environment variable {name}={raw!r} is not a rate (a number of requests per second, minute, hour or "
            "day, e.g. 1200/min)."
        )
    return f"{int(match[1])}/{match[2]}"
