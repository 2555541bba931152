"""rating — a scale of labels::

    {"unit": "points", "scale": [{"label": "优秀", "points": "10"}, {"label": "良好", "points": "8"},
                                 {"label": "合格", "points": "6"}, {"label": "差", "points": "0"}]}

    ``unit`` "points" (entries carry "points") or "share" (entries carry "share", × max_points).
    Labels are unique after trimming spaces. ``line.rating`` must be one of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core import configs
from core.configs import ConfigError
from core.explain import listed
from core.translation import _
from indicators.scoring.common import LineInput, ScoreResult, ScoringError, Trace, exact, finish_unit, unit_keys


@dataclass(frozen=True)
class Rating:
    unit: str
    scale: tuple[tuple[str, Decimal], ...]


def read_rating(config: Mapping[str, Any], names: frozenset[str]) -> tuple[Rating, dict[str, Any]]:
    configs.known_keys(config, ("unit", "scale"), suggest=True)
    unit = configs.choice(config, "unit", ("points", "share"), "points")
    scale: list[tuple[str, Decimal]] = []
    for position, raw in enumerate(configs.sequence(config.get("scale"), "scale")):
        where = configs.path("scale", position)
        entry = configs.mapping(raw, where)
        unit_keys(entry, unit, where, ("label",))
        label = configs.text(entry.get("label"), configs.path(where, "label"))
        if any(label == existing for existing, _v in scale):
            raise ConfigError(
                configs.path(where, "label"), _('The label "%(label)s" is used twice.') % {"label": label}
            )
        scale.append((label, configs.required_number(entry, unit, configs.path(where, unit))))
    normalised = {"unit": unit, "scale": [{"label": label, unit: exact(value)} for label, value in scale]}
    return Rating(unit, tuple(scale)), normalised


def score_rating(spec: Rating, line: LineInput) -> ScoreResult:
    labels = dict(spec.scale)
    rating = line.rating.strip() if isinstance(line.rating, str) else None
    if not rating:
        raise ScoringError(
            _("No rating was given; the ratings are: %(labels)s") % {"labels": listed(labels)}, subject=line.subject
        )
    if rating not in labels:
        raise ScoringError(
            _('Unknown rating "%(rating)s"; the ratings are: %(labels)s')
            % {"rating": rating, "labels": listed(labels)},
            subject=line.subject,
        )
    trace = Trace()
    trace.say(_("rated %(rating)s") % {"rating": rating})
    trace.step("rating", rating=rating, amount=labels[rating])
    return finish_unit(trace, spec.unit, labels[rating], line)
