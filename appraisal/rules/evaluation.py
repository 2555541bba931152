"""A rule as a whole: reading it (the keys every rule has, then its kind's config), evaluating a
list of rules at the close of a period, and which forcing outcome decides a subject's result.

A rule whose ``outcome`` is "set_grade" names the grade it sets (``"grade": "C"``, required; no
other rule may give one)::

    {"code": "leave", "name": "事假超过20天", "kind": "streak",
     "config": {"periods": 1, "condition": {"fact": "line:LEAVE_PERSONAL.actual", "above": "20"}},
     "outcome": "set_grade", "grade": "C"}                                  # S1-4
    {"code": "no_self", "kind": "count_in_window",
     "config": {"count": 2, "of_last": 4, "same_year": true,
                "condition": {"fact": "missed_self_assessments", "at_least": "1"}},
     "outcome": "set_grade", "grade": "E"}                                  # S1-9: twice → fail
    {"code": "sick", "kind": "streak",
     "config": {"periods": 1, "condition": {"fact": "line:LEAVE_SICK.actual", "at_least": "90"}},
     "outcome": "not_assessed"}                                             # S1-4: no perf pay

:func:`split` parts the forcing rules (set_grade, not_assessed) from the others, and
:func:`forced` says which forcing flag decides each subject when several flag it: "not_assessed"
beats any grade, and between set grades the worse one (lower on the scale) wins; on equal
outcomes the first rule in the list.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

from django.utils.translation import gettext as _

from appraisal.rules import bottom_n, streaks, windows
from appraisal.rules.outcomes import FORCING, NOT_ASSESSED, SET_GRADE, Flag, Flags, Outcome, Past, RulesError
from appraisal.rules.periods import Period, current_period, past_periods
from appraisal.rules.reading import required, rule_mapping
from core import configs
from core.configs import ConfigError
from core.explain import listed

__all__ = ["KINDS", "evaluate", "forced", "split", "validate_rule", "validate_rules"]

KINDS = ("bottom_n", "streak", "count_in_window")

_RULE_KEYS = ("code", "name", "kind", "config", "outcome", "grade")
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
            "kind", _('"%(value)s" is not one of %(options)s.') % {"value": kind, "options": listed(KINDS)}
        )
    outcome = configs.text(data.get("outcome"), "outcome")
    grade = _set_grade(data, outcome)
    config = rule_mapping(required(data, "config", ""), "config")
    configs.known_keys(config, _CONFIG_KEYS[kind], "config")
    normal = {"code": code, "name": name, "kind": kind, "config": _READ_CONFIG[kind](config), "outcome": outcome}
    if grade is not None:
        normal["grade"] = grade
    return normal


def _set_grade(data: Mapping[str, Any], outcome: str) -> str | None:
    """The grade a "set_grade" rule sets (required); no other rule gives one."""
    if outcome == SET_GRADE:
        return configs.text(data.get("grade"), "grade")
    if data.get("grade") is not None:
        raise ConfigError("grade", _("Only a rule whose outcome is set_grade sets a grade."))
    return None


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


def split(rules: Sequence[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """The forcing rules (set_grade, not_assessed) and the others, each in their order."""
    forcing = [rule for rule in rules if rule["outcome"] in FORCING]
    return forcing, [rule for rule in rules if rule["outcome"] not in FORCING]


def forced(flags: Iterable[Flag], grades: Sequence[str]) -> dict[Hashable, Flag]:
    """The forcing flag that decides each flagged subject's result; ``grades`` are the scale's
    codes, best first. Flags of other outcomes are ignored."""
    order = {grade: index for index, grade in enumerate(grades)}
    found: dict[Hashable, Flag] = {}
    for flag in flags:
        if flag.outcome not in FORCING:
            continue
        if flag.outcome == SET_GRADE and flag.grade not in order:
            raise RulesError(
                _('The rule %(rule)s sets the grade "%(grade)s", which is not one of %(grades)s.')
                % {"rule": flag.rule_code, "grade": flag.grade, "grades": ", ".join(grades)}
            )
        held = found.get(flag.key)
        if held is None or _severity(flag, order) > _severity(held, order):
            found[flag.key] = flag
    return found


def _severity(flag: Flag, order: Mapping[str, int]) -> int:
    """How hard a forcing flag falls: not assessed beyond the lowest grade, else the grade's place."""
    return len(order) if flag.outcome == NOT_ASSESSED else order[str(flag.grade)]


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
                grade=rule.get("grade"),
            )
        )
    return flags
