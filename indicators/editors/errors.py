"""Where a ConfigError belongs: its path ("bands[2].to", "items[0].tiers[1].money", "cap_rate")
is turned into the row and field the editor shows, and the message loses the path it starts with
(HR reads field labels, not config keys)."""

from __future__ import annotations

from typing import Any

from core.configs import ConfigError


def message_of(error: ConfigError) -> str:
    """The message without the leading "path: " that number checks put in front."""
    text = error.message
    for start in (f"{error.field}: ", f"{error.field}："):
        if text.startswith(start):
            return text[len(start):]
    return text


def _longest_place(places: dict[str, tuple[str, int]], path: str) -> str | None:
    matches = [key for key in places if path == key or path.startswith((f"{key}.", f"{key}["))]
    return max(matches, key=len) if matches else None


def place_config_error(editor: Any, error: ConfigError) -> None:
    """Adds ``error`` to the field or row it is about, else to the settings as a whole. ``editor``: an
    indicators.editors.indicator.IndicatorEditor (not imported: that module imports this one)."""
    message = message_of(error)
    places = editor.built.places if editor.built is not None else {}
    place = _longest_place(places, error.field)
    if place is not None:
        prefix, index = places[place]
        kind = next(k for k in editor.kinds if k.prefix == prefix)
        rest = error.field[len(place):].lstrip(".")
        name = rest.split(".")[0].split("[")[0]
        name = kind.aliases.get(name, name)
        form = editor.rows[prefix].forms[index]
        if not name and len(form.fields) == 1:
            name = next(iter(form.fields))
        form.add_error(name if name in form.fields else None, message)
        return
    top = error.field.split(".")[0].split("[")[0]
    if top in editor.settings.fields:
        editor.settings.add_error(top, message)
        return
    listed = {"round_shares": "rounds"}.get(top, top)
    if listed in editor.row_errors:
        editor.row_errors[listed].append(message)
        return
    editor.settings.add_error(None, message)
