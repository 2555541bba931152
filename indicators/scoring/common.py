"""What every scoring method shares: a line's inputs, its result, the trace that explains it, and
how numbers are written in traces and explanations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

from core import configs, explain
from core.configs import ConfigError
from core.numbers import quantize, to_decimal
from core.translation import _

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
INFINITY = Decimal("Infinity")

# Rates are divisions; 28 digits as Decimal's default, but fixed here so that a caller who
# changed the thread's context cannot change a score.
CONTEXT = Context(prec=28, rounding=ROUND_HALF_UP)


class ScoringError(ValueError):
    """A line that cannot be scored as it stands (no actual, unknown label …), naming the subject."""

    def __init__(self, message: str, *, subject: str = "") -> None:
        text = message if not subject else _("%(message)s (for %(subject)s)") % {"message": message, "subject": subject}
        super().__init__(text)
        self.message = text
        self.subject = subject


@dataclass(frozen=True)
class LineInput:
    """What a score-sheet line knows when it is scored; the caller has resolved targets already."""

    max_points: Decimal
    direction: str = "higher"
    target: Decimal | None = None
    actual: Decimal | None = None
    inputs: Mapping[str, Decimal] = field(default_factory=dict)
    occurrences: Mapping[str, int] = field(default_factory=dict)
    rating: str | None = None
    accepted: bool | None = None
    acceptance_round: int | None = None
    subject: str = ""

    def __post_init__(self) -> None:
        # Numbers arrive from forms and imports as ints or strings too; keep them exact, refuse floats.
        object.__setattr__(self, "max_points", to_decimal(self.max_points, what="max_points"))
        for name in ("target", "actual"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, to_decimal(value, what=name))
        if self.max_points < 0:
            raise ScoringError(
                _("Full marks cannot be negative (%(points)s).") % {"points": self.max_points}, subject=self.subject
            )
        if self.direction not in ("higher", "lower"):
            raise ScoringError(
                _('Direction must be "higher" or "lower", not "%(direction)s".') % {"direction": self.direction},
                subject=self.subject,
            )


@dataclass(frozen=True)
class ScoreResult:
    points: Decimal
    money: Decimal
    explanation: str
    steps: tuple[dict[str, str], ...]
    # The points before they were rounded to 0.01, for a sheet that rounds only per part or at the
    # end (Template.rounding); None from a result made without it: use ``points``.
    raw_points: Decimal | None = None


# --- formatting -------------------------------------------------------------------------------
# Results and money are written by core.explain.money. The three helpers below stay here because
# core.explain's namesakes write differently, and configs, traces and explanations must not change.


def exact(value: Decimal) -> str:
    """A Decimal as a plain string for configs and traces: no exponent, nothing rounded.

    Not core.explain.plain, which drops trailing zeros: a normalised config keeps "1.20" as written."""
    return format(value, "f")


def exact_or_none(value: Decimal | None) -> str | None:
    return None if value is None else exact(value)


def show(value: Decimal) -> str:
    """An input in an explanation: two decimals at least, but never rounded (coal 312.456 g/kWh).

    Not core.explain.show: this one writes the *normalised* value, which Decimal rounds to the
    thread's precision (28 significant digits by default), so an input with more digits reads
    differently; explanations must read as they always have."""
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return exact(value.normalize())
    return str(quantize(value, 2))


def pct(rate: Decimal) -> str:
    """A rate as a percentage with two decimals, ∞ for the best lower-is-better ratio (not
    core.explain.percent, which never rounds and has no infinity)."""
    if rate.is_infinite():
        return "∞"
    return f"{quantize(rate * HUNDRED, 2)}%"


class Trace:
    """Collects the explanation's phrases and the audit steps while a line is scored."""

    def __init__(self) -> None:
        self.phrases: list[str] = []
        self.steps: list[dict[str, str]] = []

    def say(self, phrase: str) -> None:
        self.phrases.append(phrase)

    def step(self, rule: str, **values: object) -> None:
        entry = {"rule": rule}
        for key, value in values.items():
            if value is None:
                continue
            entry[key] = exact(value) if isinstance(value, Decimal) else str(value)
        self.steps.append(entry)

    def result(self, points: Decimal, money: Decimal = ZERO) -> ScoreResult:
        return ScoreResult(
            points=quantize(points, 2),
            money=quantize(money, 2),
            explanation=explain.sep().join(self.phrases),
            steps=tuple(self.steps),
            raw_points=points,
        )


# --- points or a share of full marks (banded, rating, pass_fail) ---------------------------------


def unit_keys(entry: Mapping[str, Any], unit: str, where: str, allowed: tuple[str, ...]) -> None:
    """Bands and ratings carry "points" or "share" as the config's ``unit`` says; say so plainly."""
    other = "share" if unit == "points" else "points"
    if other in entry and unit not in entry:
        raise ConfigError(
            configs.path(where, other),
            _('With unit "%(unit)s" each entry gives "%(unit)s", not "%(other)s".') % {"unit": unit, "other": other},
        )
    configs.known_keys(entry, (*allowed, unit), where, suggest=True)


def finish_unit(trace: Trace, unit: str, amount: Decimal, line: LineInput) -> ScoreResult:
    """Points straight from the config, or a share of the line's full marks."""
    if unit == "share":
        points = line.max_points * amount
        trace.say(
            _("score %(max)s × %(rate)s = %(points)s")
            % {"max": show(line.max_points), "rate": pct(amount), "points": explain.money(points)}
        )
        trace.step("points", max_points=line.max_points, share=amount, points=quantize(points, 2))
    else:
        points = amount
        trace.say(_("score %(points)s") % {"points": explain.money(points)})
        trace.step("points", points=quantize(points, 2))
    return trace.result(points)
