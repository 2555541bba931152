"""``lookup`` (S1-2 seniority table, S0-3 / S1-6 coefficients by attribute): an amount or a
coefficient looked up in a table by one input.

By a number (``bands``: rising lower ends, each band from its ``from`` inclusive up to the next)::

    {"input": "years_of_service", "bands": [{"from": "0", "value": "0"}, {"from": "3", "value": "50"},
                                            {"from": "10", "value": "150"}], "default": null}

By a text (``values``: one value per text, e.g. a salary band or a position)::

    {"input": "salary_band", "values": {"一档": "200", "二档": "400"}, "default": "0"}

A number below the first band, or a text not in the table, takes ``default``; without one the
person's pay fails naming the input and its value. Values are numbers; scale them with the
envelope's ``factor`` or use the component's code in a later formula.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from core.configs import ConfigError
from core.explain import plain

from ..common import Component, Kind, Outcome, Person, Scope, _, at, items, known_keys, mapping, number


class Lookup(Kind):
    """The value of the band (number input) or entry (text input) the person's input falls in."""

    code = "lookup"

    def __init__(self, config: Mapping[str, Any], scope: Scope, where: str) -> None:
        known_keys(config, ("input", "bands", "values", "default"), where, required=("input",))
        if ("bands" in config) == ("values" in config):
            raise ConfigError(where, _('Give either "bands" (by a number) or "values" (by a text).'))
        self.default = None if config.get("default") is None else number(config["default"], at(where, "default"))
        self.bands: list[tuple[Decimal, Decimal]] = []
        self.values: dict[str, Decimal] = {}
        if "bands" in config:
            self.input = scope.number_name(config["input"], at(where, "input"))
            self._bands(config["bands"], at(where, "bands"))
            table: dict[str, Any] = {"bands": [{"from": str(low), "value": str(value)} for low, value in self.bands]}
        else:
            self.input = scope.text_name(config["input"], at(where, "input"))
            raw = mapping(config["values"], at(where, "values"))
            if not raw:
                raise ConfigError(at(where, "values"), _("List at least one value."))
            self.values = {str(key): number(value, at(at(where, "values"), str(key))) for key, value in raw.items()}
            table = {"values": {key: str(value) for key, value in self.values.items()}}
        self.normalised = {"input": self.input, **table, "default": None if self.default is None else str(self.default)}

    def _bands(self, raw: object, where: str) -> None:
        entries = items(raw, where)
        if not entries:
            raise ConfigError(where, _("List at least one band."))
        for index, entry in enumerate(entries):
            here = at(where, index)
            entry = mapping(entry, here)
            known_keys(entry, ("from", "value"), here, required=("from", "value"))
            low = number(entry["from"], at(here, "from"))
            if self.bands and low <= self.bands[-1][0]:
                raise ConfigError(at(here, "from"), _("Each band must start above the one before."))
            self.bands.append((low, number(entry["value"], at(here, "value"))))

    def run(self, person: Person, component: Component) -> Outcome:
        if self.bands:
            key = component.number(self.input, person)
            found = None
            for low, value in self.bands:
                if key >= low:
                    found = value
            shown = plain(key)
        else:
            label = component.label(self.input, person)
            found = self.values.get(label)
            shown = label
        if found is None:
            found = self.default
        if found is None:
            raise component.error(person, _("%(value)s is not in the table") % {"value": shown})
        return found, _("%(input)s %(key)s → %(value)s") % {"input": self.input, "key": shown,
                                                            "value": plain(found)}, None
