"""Bands of an input written by their upper ends (S1-9's salary bands), for any kind that looks
a result up by them."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

from core.configs import ConfigError
from core.explain import money, plain
from core.translation import PerLanguage

from ..common import (
    Scope,
    _,
    at,
    boolean,
    items,
    known_keys,
    mapping,
    number,
)


def _quantity_band_text(upper: Decimal | None, lower: Decimal | None, inclusive: bool) -> str:
    if upper is None:
        assert lower is not None
        return (_("above %(value)s") if inclusive else _("from %(value)s")) % {"value": plain(lower)}
    return ("≤ %(value)s" if inclusive else "< %(value)s") % {"value": plain(upper)}


class Bands:
    """An ordered lookup "value up to X → result": bands written by their upper ends, the last open.

    ``to_inclusive`` true (default): value ≤ to falls in the band (S1-9 "1500元以下(含1500)");
    false: value < to."""

    def __init__(self, config: object, scope: Scope, where: str, result_key: str) -> None:
        config = mapping(config, where)
        known_keys(config, ("input", "to_inclusive", "bands"), where, required=("input", "bands"))
        self.input = scope.number_name(config["input"], at(where, "input"))
        self.inclusive = boolean(config.get("to_inclusive", True), at(where, "to_inclusive"))
        self.result_key = result_key
        self.uppers: list[Decimal | None] = []
        self.results: list[Decimal] = []
        # Two at least: one open band is no band at all (a "quota" formula says the same).
        entries = items(config["bands"], at(where, "bands"), minimum=2)
        for index, entry in enumerate(entries):
            here = at(at(where, "bands"), index)
            entry = mapping(entry, here)
            known_keys(entry, ("to", result_key), here, required=(result_key,))
            last = index == len(entries) - 1
            upper = entry.get("to")
            if last:
                if upper is not None:
                    raise ConfigError(at(here, "to"), _("The last band is open above: leave its end empty (null)."))
                self.uppers.append(None)
            else:
                if upper is None:
                    raise ConfigError(at(here, "to"), _("Only the last band may be open above."))
                value = number(upper, at(here, "to"))
                previous = self.uppers[-1] if self.uppers else None
                if previous is not None and value <= previous:
                    raise ConfigError(
                        at(here, "to"),
                        _("Band ends must rise from band to band: %(value)s is not above %(previous)s.")
                        % {"value": plain(value), "previous": plain(previous)},
                    )
                self.uppers.append(value)
            self.results.append(number(entry[result_key], at(here, result_key)))
        self.shown = [money(result) for result in self.results]
        self.band_texts = PerLanguage(partial(_band_texts, tuple(self.uppers), self.inclusive))
        self.normalised = {
            "input": self.input,
            "to_inclusive": self.inclusive,
            "bands": [
                {"to": None if upper is None else str(upper), result_key: str(result)}
                for upper, result in zip(self.uppers, self.results, strict=True)
            ],
        }

    def find(self, value: Decimal) -> tuple[Decimal, str, str]:
        """The result for ``value``, the band as text and the result as money."""
        last = len(self.uppers) - 1
        index = 0
        while index < last:
            upper = self.uppers[index]
            assert upper is not None  # only the last band is open
            if value < upper or (self.inclusive and value == upper):
                break
            index += 1
        return self.results[index], self.band_texts.get()[index], self.shown[index]


def _band_texts(uppers: tuple[Decimal | None, ...], inclusive: bool) -> tuple[str, ...]:
    """Each band as text ("≤ 1500", "above 2500"), in the active language."""
    return tuple(
        _quantity_band_text(upper, uppers[index - 1] if index else None, inclusive)
        for index, upper in enumerate(uppers)
    )
