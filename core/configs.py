"""Reading HR-written JSON configs: the checks every pure engine shares (scoring methods, grade
scales, rules over periods, pay components).

Each raises :class:`core.configs.ConfigError` with the path of the wrong setting
("bands[2].from", "components[1].config.rate") and a message in the active language, so a
config is refused the same way whichever engine reads it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from core.numbers import to_decimal

__all__ = ["ConfigError", "known_keys", "mapping", "number", "path", "text"]


class ConfigError(ValueError):
    """A config HR must fix: ``field`` is the path of the wrong setting ("bands[2].to")."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def path(prefix: str, key: str | int) -> str:
    """The path of ``key`` under ``prefix``: "bands[2]", "config.rate", or "rate" at the top."""
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else key


def mapping(value: object, where: str, *, top: str = "config") -> Mapping[str, Any]:
    """``value`` when it is an object; ``top`` names the path when ``where`` is empty."""
    if not isinstance(value, Mapping):
        raise ConfigError(where or top, _("Expected an object with settings, got %(value)r.") % {"value": value})
    return value


def known_keys(config: Mapping[str, Any], allowed: Iterable[str], prefix: str = "", *, suggest: bool = False) -> None:
    """Refuses the first key not in ``allowed``; with ``suggest``, names the closest allowed key."""
    allowed = tuple(allowed)
    for key in config:
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), allowed, n=1) if suggest else []
        if close:
            message = _('Unknown setting "%(key)s"; did you mean "%(suggestion)s"?') % {
                "key": key, "suggestion": close[0]}
        else:
            message = _('Unknown setting "%(key)s"; the settings are: %(keys)s') % {
                "key": key, "keys": ", ".join(allowed)}
        raise ConfigError(path(prefix, str(key)), message)


def number(value: object, where: str, *, minimum: Decimal | None = None, maximum: Decimal | None = None) -> Decimal:
    """``value`` as an exact Decimal within the bounds (floats refused, as everywhere)."""
    try:
        result = to_decimal(value, what=where)
    except (TypeError, ValueError) as error:
        raise ConfigError(where, str(error)) from None
    if minimum is not None and result < minimum:
        raise ConfigError(
            where, _("Must be at least %(minimum)s, not %(value)s.") % {"minimum": minimum, "value": value}
        )
    if maximum is not None and result > maximum:
        raise ConfigError(
            where, _("Must be at most %(maximum)s, not %(value)s.") % {"maximum": maximum, "value": value}
        )
    return result


def text(value: object, where: str) -> str:
    """A non-blank text, stripped."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(where, _("Enter a text."))
    return value.strip()
