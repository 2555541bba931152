"""A rule as a whole: reading it (the keys every rule has, then its kind's config) and
evaluating a list of rules at the close of a period."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from django.utils.translation import gettext as _

from appraisal.rules import bottom_n, streaks, windows
from appraisal.rules.outcomes import Flag, Flags, Outcome, Past, RulesError
from appraisal.rules.periods import Period, current_period, past_periods
from appraisal.rules.reading import required, rule_mapping
from core import configs
from core.configs import ConfigError

__all__ = ["KINDS", "evaluate", "validate_rule", "validate_rules"]

KINDS = ("bottom_n", "streak", "count_in_window")

_RULE_KEYS = ("code", "name", "kind", "config", "outcome")
_CONFIG_KEYS = {
    "bottom_n": bottom_n.CONFIG_KEYS,
    "streak": streaks.CONFIG_KEYS,
    "count_in_window": windows.CONFIG_KEYS,
}
_READ_CONFIG: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "bottom_n": bottom_n.read_config,
    "streak": streaks.read_config,
    "count_in_window": windows.read_config,
}
# The kinds that look at one subject's periods at a time (bottom_n ranks them all together).
_PER_SUBJECT: dict[str, Callable[[Mapping[str, Any], Period, Sequence[Period]], tuple[str, list[Period]] | None]] = {
    "streak": streaks.check,
    "count_in_window": windows.check,
}


def validate_rule(rule: object) -> dict[str, Any]:
    """``rule`` checked and normalised (defaults filled in, counts as ints, scores as strings)."""
    data = rule_mapping(rule, "")
    configs.known_keys(data, _RULE_KEYS)
    code = configs.text(data.get("code"), "code")
    name = configs.text(data["name"], "name") if data.get("name") is not None else code
    kind = data.get("kind")
    if kind not in KINDS:
        raise ConfigError(
            "kind", _('"%(value)s" is not one of %(options)s.') % {"value": kind, "options": ", ".join(KINDS)}
        )
    outcome = configs.text(data.get("outcome"), "outcome")
    config = rule_mapping(required(data, "config", ""), "config")
    configs.known_keys(config, _CONFIG_KEYS[kind], "config")
    return {"code": code, "name": name, "kind": kind, "config": _READ_CONFIG[kind](config), "outcome": outcome}


def validate_rules(rules: object) -> list[dict[str, Any]]:
    """Every rule checked (errors named "rules[2].config.n") and codes unique."""
    if not isinstance(rules, list | tuple):
        raise ConfigError("rules", _("Enter a list (it may be empty)."))
    result: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for index, rule in enumerate(rules):
        where = configs.path("rules", index)
        try:
            normal = validate_rule(rule)
        except ConfigError as error:
            field = where if error.field == "rule" else f"{where}.{error.field}"
            raise ConfigError(field, error.message) from None
        if normal["code"] in seen:
            raise ConfigError(
                f"{where}.code",
                _('The code "%(code)s" is already used by rule %(index)s.')
                % {"code": normal["code"], "index": seen[normal["code"]] + 1},
            )
        seen[normal["code"]] = index
        result.append(normal)
    return result


def evaluate(
    rules: Sequence[Mapping[str, Any]],
    current: Sequence[Outcome],
    history: Mapping[Any, Sequence[Past]],  # keys as in ``current`` (Any: Mapping keys are invariant)
    *,
    period: str,
    year: int | None = None,
) -> Flags:
    """The flags ``rules`` raise at the close of ``period``, with the notices of the rules that could
    not be applied (``.notices``); see the package's rules."""
    checked = validate_rules(list(rules))
    if not isinstance(period, str) or not period.strip():
        raise RulesError(_("Give the code of the period that closes, not %(value)r.") % {"value": period})
    code = period.strip()
    entries = _current_entries(current, code, year)
    pasts = {outcome.key: past_periods(outcome.key, history.get(outcome.key, ()), code) for outcome in current}
    flags = Flags()
    for rule in checked:
        if rule["kind"] == "bottom_n":
            ranking = bottom_n.flags(rule, entries)
            flags.extend(ranking)
            flags.notices.extend(ranking.notices)
        else:
            flags.extend(_per_subject_flags(rule, entries, pasts))
    return flags


def _current_entries(current: Sequence[Outcome], code: str, year: int | None) -> list[tuple[Outcome, Period]]:
    """Each subject's outcome with the period that closes, as the rules see it; keys unique."""
    entries: list[tuple[Outcome, Period]] = []
    keys: set[Hashable] = set()
    for outcome in current:
        if outcome.key in keys:
            raise RulesError(_("%(key)s is listed twice.") % {"key": outcome.key})
        keys.add(outcome.key)
        entries.append((outcome, current_period(outcome, code, year)))
    return entries


def _per_subject_flags(
    rule: Mapping[str, Any], entries: Sequence[tuple[Outcome, Period]], pasts: Mapping[Hashable, list[Period]]
) -> list[Flag]:
    check = _PER_SUBJECT[rule["kind"]]
    flags: list[Flag] = []
    for outcome, entry in entries:
        found = check(rule, entry, pasts[outcome.key])
        if found is None:
            continue
        message, periods = found
        flags.append(
            Flag(
                key=outcome.key,
                rule_code=rule["code"],
                outcome=rule["outcome"],
                message=message,
                rule_name=rule["name"],
                periods=tuple(p.code for p in periods),
            )
        )
    return flags
