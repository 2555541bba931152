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

from core.explain import listed
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
                "key": key, "keys": listed(allowed)}
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


# The number readers below look the setting up by key themselves: "absent" and "null" differ (a
# default applies to the first, the second says "none"), which a reader given only the value cannot tell.
__all__ += ["choice", "optional_number", "required_number", "sequence", "whole_number"]


def optional_number(
    config: Mapping[str, Any],
    key: str,
    where: str,
    *,
    default: Decimal | int | str | None = None,
    minimum: Decimal | None = None,
) -> Decimal | None:
    """``config[key]`` read by :func:`number`; ``default`` when absent, None when null."""
    value = config.get(key, default)
    if value is None:
        return None
    return number(value, where, minimum=minimum)


def required_number(config: Mapping[str, Any], key: str, where: str, *, minimum: Decimal | None = None) -> Decimal:
    """``config[key]`` read by :func:`number`; refused when absent or null."""
    value = config.get(key)
    if value is None:
        raise ConfigError(where, _("This setting is required."))
    return number(value, where, minimum=minimum)


def choice(config: Mapping[str, Any], key: str, options: tuple[str, ...], default: str) -> str:
    """``config[key]``, one of ``options`` (``default`` when absent); the path is ``key`` itself."""
    value = config.get(key, default)
    if value not in options:
        raise ConfigError(
            key, _('"%(value)s" is not one of %(options)s.') % {"value": value, "options": listed(options)}
        )
    return str(value)


def sequence(value: object, where: str, *, required: bool = True) -> list[Any]:
    """A list (a JSON array): non-empty when ``required``, else null or empty gives []."""
    if value is None and not required:
        return []
    if not isinstance(value, list | tuple) or (required and not value):
        raise ConfigError(where, _("Enter a non-empty list."))
    return list(value)


def whole_number(value: object, where: str, *, minimum: int | None = None) -> int:
    """An int, or a string of one ("3"), not below ``minimum``; yes/no values are refused."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(where, _("Enter a whole number."))
    try:
        result = int(value)
    except ValueError:
        raise ConfigError(where, _("Enter a whole number.")) from None
    if minimum is not None and result < minimum:
        raise ConfigError(
            where, _("Must be at least %(minimum)s, not %(value)s.") % {"minimum": minimum, "value": value}
        )
    return result


# Readers first written for the pay engine's component configs, which take the value itself.
__all__ += ["boolean", "items", "required_keys"]


def required_keys(config: Mapping[str, Any], keys: Iterable[str], prefix: str = "") -> None:
    """Refuses the first of ``keys`` that is absent or null in ``config``, naming its path."""
    for key in keys:
        if key not in config or config[key] is None:
            raise ConfigError(path(prefix, key), _("This setting is required."))


def boolean(value: object, where: str) -> bool:
    """``value`` when it is JSON's true or false; 1, 0 or "yes" are refused."""
    if not isinstance(value, bool):
        raise ConfigError(where, _("Expected true or false, got %(value)r.") % {"value": value})
    return value


def items(value: object, where: str, *, minimum: int = 1) -> list[Any]:
    """``value`` when it is a list (a JSON array) of at least ``minimum`` entries."""
    if not isinstance(value, list):
        raise ConfigError(where, _("Expected a list, got %(value)r.") % {"value": value})
    if len(value) < minimum:
        raise ConfigError(where, _("Enter at least %(count)s entries.") % {"count": minimum})
    return value
