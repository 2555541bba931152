"""The bottom_n kind: a ranking's last places, read from its config and flagged.

bottom_n — the last N of the current period's ranking (S0-2 n=3, S1-7 n=1)::

    {"n": 3, "min_population": null}

    Only subjects with status "normal" or "refused" are ranked and counted in the population;
    "refused" counts as a score of 0 (S1-4: refusing to take part → 0), whatever score it
    carries. The ranking is worked out here from the scores (best first, equal scores share a
    rank: 1, 2, 2, 4) over that population, so ``Outcome.rank`` and ``Outcome.population`` are
    informational only: an exempt colleague can never move the line. A "normal" subject without a
    score cannot be ranked and raises :class:`RulesError` (give it a score or a status such as
    "not_assessed"; nobody escapes the bottom by having no score).
    The line is the score of the Nth subject from the bottom. Everyone at or below it is flagged;
    when several subjects share the line score and there are fewer places than tied subjects, all
    of them are flagged, ``Flag.tied`` is True and the message says they tie: a tie is never
    broken silently.
    The population must be larger than N: a ranking of N subjects or fewer would flag everyone,
    the best included (3 shifts under a bottom-3 rule), so it flags nobody and the rule leaves a
    :class:`~appraisal.rules.outcomes.Notice` saying the population is too small for it.
    ``min_population`` (optional, ≥ 1) raises that minimum: no flags and the same notice when
    fewer subjects are ranked. Nobody ranked at all: no flags and no notice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from appraisal.rules.outcomes import RANKED, Flag, Flags, Notice, Outcome, RulesError
from appraisal.rules.periods import Period
from appraisal.rules.reading import required, whole
from core.explain import show

__all__ = ["CONFIG_KEYS", "flags", "read_config"]

CONFIG_KEYS = ("n", "min_population")


def read_config(config: Mapping[str, Any]) -> dict[str, Any]:
    minimum = config.get("min_population")
    return {
        "n": whole(required(config, "n", "config"), "config.n"),
        "min_population": None if minimum is None else whole(minimum, "config.min_population"),
    }


@dataclass(frozen=True)
class _Line:
    """The bottom-N line: the score of the Nth subject from the bottom and who shares it."""

    score: Decimal
    on_line: int  # subjects with exactly the line score
    places: int  # how many of them the bottom N still has room for

    @property
    def tie(self) -> bool:
        return self.on_line > self.places


def flags(rule: Mapping[str, Any], current: Sequence[tuple[Outcome, Period]]) -> Flags:
    """Everyone at or below the line of the bottom ``n``, in the order of ``current``; nobody,
    with a notice, when the population is too small for the rule."""
    config = rule["config"]
    ranked = _ranked(rule, current)
    population = len(ranked)
    n = config["n"]
    needed = n + 1 if config["min_population"] is None else max(n + 1, config["min_population"])
    if population == 0:
        return Flags()
    if population < needed:
        return Flags(notices=[_too_small(rule, population, needed)])
    ascending = sorted(score for _outcome, score in ranked)
    line = _line(ascending, n)
    found = Flags()
    for outcome, score in ranked:
        if score > line.score:
            continue
        tied = line.tie and score == line.score
        found.append(
            Flag(
                key=outcome.key,
                rule_code=rule["code"],
                outcome=rule["outcome"],
                message=_message(outcome, score, ascending, n, line, tied),
                rule_name=rule["name"],
                tied=tied,
                grade=rule.get("grade"),
            )
        )
    return found


def _ranked(rule: Mapping[str, Any], current: Sequence[tuple[Outcome, Period]]) -> list[tuple[Outcome, Decimal]]:
    """The subjects that take part in the ranking, with their scores ("refused" as 0)."""
    ranked: list[tuple[Outcome, Decimal]] = []
    for outcome, entry in current:
        if entry.status not in RANKED:
            continue
        if entry.score is None:
            raise RulesError(
                _(
                    "%(key)s has status normal but no score, so it cannot be ranked for %(rule)s; give it a score "
                    "or a status such as not_assessed."
                )
                % {"key": outcome.key, "rule": rule["code"]}
            )
        ranked.append((outcome, entry.score))
    return ranked


def _line(ascending: list[Decimal], n: int) -> _Line:
    """Where the bottom ``n`` of the ``ascending`` scores ends (there are more than ``n``)."""
    score = ascending[n - 1]
    below = sum(1 for other in ascending if other < score)
    on_line = sum(1 for other in ascending if other == score)
    return _Line(score=score, on_line=on_line, places=n - below)


def _too_small(rule: Mapping[str, Any], population: int, needed: int) -> Notice:
    """The notice of a ranking too small for the rule: nobody is flagged."""
    message = ngettext(
        "only %(population)s subject ranked, but the bottom %(n)s needs at least %(needed)s: the population is "
        "too small for this rule, nobody is flagged",
        "only %(population)s subjects ranked, but the bottom %(n)s needs at least %(needed)s: the population is "
        "too small for this rule, nobody is flagged",
        population,
    ) % {"population": population, "n": rule["config"]["n"], "needed": needed}
    return Notice(rule_code=rule["code"], outcome=rule["outcome"], message=message, rule_name=rule["name"])


def _message(outcome: Outcome, score: Decimal, ascending: list[Decimal], n: int, line: _Line, tied: bool) -> str:
    rank = 1 + sum(1 for other in ascending if other > score)
    shown = show(score)
    if outcome.status == "refused":
        shown = _("%(score)s (refused to take part)") % {"score": shown}
    values = {"rank": rank, "population": len(ascending), "score": shown, "n": n}
    if tied:
        values.update({"tied": line.on_line, "places": line.places, "line": show(line.score)})
        return (
            ngettext(
                "rank %(rank)s of %(population)s with %(score)s: %(tied)s subjects tie at %(line)s on the line of "
                "the bottom %(n)s with %(places)s place left, so all of them are flagged",
                "rank %(rank)s of %(population)s with %(score)s: %(tied)s subjects tie at %(line)s on the line of "
                "the bottom %(n)s with %(places)s places left, so all of them are flagged",
                line.places,
            )
            % values
        )
    if n == 1:
        return _("last of %(population)s with %(score)s") % values
    return _("rank %(rank)s of %(population)s with %(score)s, in the bottom %(n)s") % values
