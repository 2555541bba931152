"""``grade_coefficient`` (S1-9): amount = quota × coefficient."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import partial
from typing import Any

from core.configs import ConfigError
from core.explain import money, plain, sep
from core.formula import Formula
from core.translation import PerLanguage

from ..common import (
    Component,
    Kind,
    Outcome,
    Person,
    Scope,
    _,
    at,
    known_keys,
    mapping,
    number,
    text,
)
from .bands import Bands


class GradeCoefficient(Kind):
    """amount = quota × coefficient (S1-9). Coefficient from a grade table or a formula; quota from
    a formula or from bands of an input (S1-9's salary bands)."""

    code = "grade_coefficient"

    def __init__(self, config: Mapping[str, Any], scope: Scope, where: str) -> None:
        known_keys(config, ("grade_input", "coefficients", "coefficient", "quota", "quota_bands"), where)
        self.table: dict[str, Decimal] | None = None
        self.coefficient: Formula | None = None
        normalised: dict[str, Any] = {}
        if ("coefficients" in config) == ("coefficient" in config):
            raise ConfigError(
                at(where, "coefficients"), _('Give either "coefficients" (a grade table) or "coefficient" (a formula).')
            )
        if "coefficients" in config:
            self.grade_input = scope.text_name(config.get("grade_input", "grade"), at(where, "grade_input"))
            table = mapping(config["coefficients"], at(where, "coefficients"))
            if not table:
                raise ConfigError(at(where, "coefficients"), _("Enter at least %(count)s entries.") % {"count": 1})
            self.table = {
                text(grade, at(where, "coefficients")): number(value, at(at(where, "coefficients"), str(grade)))
                for grade, value in table.items()
            }
            self.shown = {grade: plain(value) for grade, value in self.table.items()}
            self.grade_phrases = PerLanguage(partial(_grade_phrases, self.shown))
            normalised["grade_input"] = self.grade_input
            normalised["coefficients"] = {grade: str(value) for grade, value in self.table.items()}
        else:
            if "grade_input" in config:
                raise ConfigError(at(where, "grade_input"), _('"grade_input" goes with a "coefficients" table.'))
            self.coefficient = scope.formula(config["coefficient"], at(where, "coefficient"))
            normalised["coefficient"] = self.coefficient.expression
        if ("quota" in config) == ("quota_bands" in config):
            raise ConfigError(at(where, "quota"), _('Give either "quota" (a formula) or "quota_bands".'))
        self.quota: Formula | None = None
        self.bands: Bands | None = None
        if "quota" in config:
            self.quota = scope.formula(config["quota"], at(where, "quota"))
            normalised["quota"] = self.quota.expression
        else:
            self.bands = Bands(config["quota_bands"], scope, at(where, "quota_bands"), "quota")
            normalised["quota_bands"] = self.bands.normalised
        self.normalised = normalised

    def run(self, person: Person, component: Component) -> Outcome:
        phrases = []
        if self.table is not None:
            grade = component.label(self.grade_input, person)
            coefficient = self.table.get(grade)
            if coefficient is None:
                raise component.error(
                    person,
                    _('Unknown grade "%(grade)s"; the grades are: %(grades)s')
                    % {"grade": grade, "grades": ", ".join(self.table)},
                )
            shown_coefficient = self.shown[grade]
            phrases.append(self.grade_phrases.get()[grade])
        else:
            assert self.coefficient is not None
            coefficient = component.value(self.coefficient, person)
            shown_coefficient = plain(coefficient)
            phrases.append(
                _("coefficient %(formula)s = %(coefficient)s")
                % {"formula": self.coefficient.expression, "coefficient": shown_coefficient}
            )
        if self.bands is not None:
            base = component.number(self.bands.input, person)
            quota, band, shown = self.bands.find(base)
            phrases.append(
                _("quota %(quota)s for %(input)s %(value)s (%(band)s)")
                % {"quota": shown, "input": self.bands.input, "value": plain(base), "band": band}
            )
        else:
            assert self.quota is not None
            quota = component.value(self.quota, person)
            shown = money(quota)
            phrases.append(_("quota %(formula)s = %(quota)s") % {"formula": self.quota.expression, "quota": shown})
        amount = quota * coefficient
        phrases.append(f"{shown} × {shown_coefficient} = {money(amount)}")
        return amount, sep().join(phrases), None


def _grade_phrases(shown: Mapping[str, str]) -> dict[str, str]:
    """The phrase "grade S → coefficient 1.2" for each grade of a table, in the active language."""
    return {
        grade: _("grade %(grade)s → coefficient %(coefficient)s") % {"grade": grade, "coefficient": coefficient}
        for grade, coefficient in shown.items()
    }
