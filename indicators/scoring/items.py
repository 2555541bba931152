"""Items counted per occurrence: the deduction and bonus methods, which share items, tiers and caps.

deduction — per-occurrence deductions from a base (S1-1, S1-3, S1-10, S0-2 management KPIs)::

    {"items": [{"code": "smoke", "name": "柜台内烟头", "points": "5", "money": null,
                "cap_points": null, "cap_money": null,
                "tiers": [{"from_count": 4, "points": "8", "money": null}]}],
     "money_per_point": "20", "total_cap_points": null, "total_cap_money": "300", "floor": "0"}

    ``line.occurrences`` maps item codes to counts. Each occurrence costs the item's points, or
    its tier's once the occurrence's number reaches the tier's ``from_count`` (marginal: with
    the example five occurrences cost 5+5+5+8+8 = 31). Money, one of two ways:
    ``money_per_point`` set (S1-1: 1 point = 20 CNY) → money = points × money_per_point, worked
    out after the point caps so that the rule holds for the points actually deducted; items and
    tiers must then leave ``money`` empty. Otherwise each occurrence costs its tier's ``money``,
    else its item's (tiers inherit it), else nothing (S1-3, S1-10). Caps: ``cap_points`` /
    ``cap_money`` per item, then ``total_cap_points`` / ``total_cap_money``.
    score = max_points − deducted points, not below ``floor`` (default "0"; null = no floor, the
    line may go negative: S1-8 security). The floor limits points only; money is limited by the
    money caps. money = −(deducted money).

bonus — added points and awards (S1-3 media praise +3)::

    {"items": [{"code": "praise", "name": "媒体表扬", "points": "3", "money": "0"}],
     "money_per_point": null, "total_cap_points": "6", "total_cap_money": null}

    Same items as deduction, no floor. score = Σ bonus points after caps; ``max_points`` is NOT
    added and NOT a cap (a bonus line usually has max_points 0; cap it with total_cap_points).
    money = +(bonus money).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core import configs, explain
from core.configs import ConfigError
from core.explain import listed
from core.translation import _, pgettext
from indicators.scoring.common import ZERO, LineInput, ScoreResult, ScoringError, Trace, exact, exact_or_none, show

_ITEM_KEYS = ("code", "name", "points", "money", "cap_points", "cap_money", "tiers")


@dataclass(frozen=True)
class Tier:
    from_count: int
    points: Decimal
    money: Decimal | None


@dataclass(frozen=True)
class Item:
    code: str
    name: str
    points: Decimal
    money: Decimal | None
    cap_points: Decimal | None
    cap_money: Decimal | None
    tiers: tuple[Tier, ...]


@dataclass(frozen=True)
class Items:
    items: tuple[Item, ...]
    money_per_point: Decimal | None
    total_cap_points: Decimal | None
    total_cap_money: Decimal | None
    floor: Decimal | None  # deduction only


# --- reading ------------------------------------------------------------------------------------


def read_items(config: Mapping[str, Any], *, deduction: bool) -> tuple[Items, dict[str, Any]]:
    keys = ["items", "money_per_point", "total_cap_points", "total_cap_money"]
    if deduction:
        keys.append("floor")
    configs.known_keys(config, keys, suggest=True)
    items: list[Item] = []
    seen: set[str] = set()
    for position, raw in enumerate(configs.sequence(config.get("items"), "items")):
        items.append(_read_item(raw, configs.path("items", position), seen))
    spec = Items(
        items=tuple(items),
        money_per_point=configs.optional_number(config, "money_per_point", "money_per_point", minimum=ZERO),
        total_cap_points=configs.optional_number(config, "total_cap_points", "total_cap_points", minimum=ZERO),
        total_cap_money=configs.optional_number(config, "total_cap_money", "total_cap_money", minimum=ZERO),
        floor=configs.optional_number(config, "floor", "floor", default="0") if deduction else None,
    )
    if spec.money_per_point is not None:
        _refuse_own_money(items)
    return spec, _normalised(spec, deduction=deduction)


def _read_item(raw: object, where: str, seen: set[str]) -> Item:
    """One entry of "items"; ``seen`` collects the codes so far (a code names one item)."""
    entry = configs.mapping(raw, where)
    configs.known_keys(entry, _ITEM_KEYS, where, suggest=True)
    code = configs.text(entry.get("code"), configs.path(where, "code"))
    if code in seen:
        raise ConfigError(configs.path(where, "code"), _('The item code "%(code)s" is used twice.') % {"code": code})
    seen.add(code)
    # The tiers are read before the item's own amounts, so that of several mistakes the same one is reported.
    tiers = _read_tiers(entry, where)
    return Item(
        code=code,
        name=configs.text(entry.get("name"), configs.path(where, "name")),
        points=configs.required_number(entry, "points", configs.path(where, "points"), minimum=ZERO),
        money=configs.optional_number(entry, "money", configs.path(where, "money"), minimum=ZERO),
        cap_points=configs.optional_number(entry, "cap_points", configs.path(where, "cap_points"), minimum=ZERO),
        cap_money=configs.optional_number(entry, "cap_money", configs.path(where, "cap_money"), minimum=ZERO),
        tiers=tiers,
    )


def _read_tiers(entry: Mapping[str, Any], where: str) -> tuple[Tier, ...]:
    tiers: list[Tier] = []
    listed = configs.sequence(entry.get("tiers"), configs.path(where, "tiers"), required=False)
    for number, raw_tier in enumerate(listed):
        tier_where = configs.path(configs.path(where, "tiers"), number)
        tier = configs.mapping(raw_tier, tier_where)
        configs.known_keys(tier, ("from_count", "points", "money"), tier_where, suggest=True)
        from_count = configs.whole_number(tier.get("from_count"), configs.path(tier_where, "from_count"), minimum=2)
        if tiers and from_count <= tiers[-1].from_count:
            raise ConfigError(
                configs.path(tier_where, "from_count"),
                _("Tiers must start at increasing counts: %(count)s does not come after %(previous)s.")
                % {"count": from_count, "previous": tiers[-1].from_count},
            )
        tiers.append(
            Tier(
                from_count,
                configs.required_number(tier, "points", configs.path(tier_where, "points"), minimum=ZERO),
                configs.optional_number(tier, "money", configs.path(tier_where, "money"), minimum=ZERO),
            )
        )
    return tuple(tiers)


def _refuse_own_money(items: Sequence[Item]) -> None:
    # Two sources of money for one occurrence would make "each point = 20 CNY" untrue.
    for position, item in enumerate(items):
        where = configs.path("items", position)
        money_fields = [("money", item.money)] + [
            (f"tiers[{number}].money", tier.money) for number, tier in enumerate(item.tiers)
        ]
        for key, amount in money_fields:
            if amount is not None:
                raise ConfigError(
                    configs.path(where, key),
                    _("With money_per_point, money follows the points; leave this amount empty."),
                )


def _normalised(spec: Items, *, deduction: bool) -> dict[str, Any]:
    normalised: dict[str, Any] = {
        "items": [
            {
                "code": item.code,
                "name": item.name,
                "points": exact(item.points),
                "money": exact_or_none(item.money),
                "cap_points": exact_or_none(item.cap_points),
                "cap_money": exact_or_none(item.cap_money),
                "tiers": [
                    {"from_count": t.from_count, "points": exact(t.points), "money": exact_or_none(t.money)}
                    for t in item.tiers
                ],
            }
            for item in spec.items
        ],
        "money_per_point": exact_or_none(spec.money_per_point),
        "total_cap_points": exact_or_none(spec.total_cap_points),
        "total_cap_money": exact_or_none(spec.total_cap_money),
    }
    if deduction:
        normalised["floor"] = exact_or_none(spec.floor)
    return normalised


# --- tallying -----------------------------------------------------------------------------------


def _check_occurrences(spec: Items, line: LineInput) -> None:
    """Every counted code is an item of the config and every count a whole number ≥ 0."""
    codes = dict.fromkeys(item.code for item in spec.items)  # in config order, for the message
    for code, count in line.occurrences.items():
        if code not in codes:
            suggestion = difflib.get_close_matches(code, codes, n=1)
            message = _('Unknown item code "%(code)s"; the codes are: %(codes)s') % {
                "code": code,
                "codes": listed(codes),
            }
            if suggestion:
                message = _('Unknown item code "%(code)s"; did you mean "%(suggestion)s"?') % {
                    "code": code,
                    "suggestion": suggestion[0],
                }
            raise ScoringError(message, subject=line.subject)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ScoringError(
                _('The count of item "%(code)s" must be a whole number of 0 or more, not %(count)r.')
                % {"code": code, "count": count},
                subject=line.subject,
            )


def _occurrence_money(item: Item, money: Decimal | None) -> Decimal:
    # Without money_per_point: the tier's amount, else the item's (tiers inherit it), else nothing.
    if money is not None:
        return money
    return item.money if item.money is not None else ZERO


def _segments(item: Item, count: int) -> list[tuple[int, Decimal, Decimal]]:
    """(occurrences, points each, money each) of ``count`` occurrences: occurrences 1 … first
    tier − 1 at the item's rate, then each tier up to the next one."""
    segments: list[tuple[int, Decimal, Decimal]] = []
    starts = [(1, item.points, item.money), *((t.from_count, t.points, t.money) for t in item.tiers)]
    for index, (start, points_each, money_each) in enumerate(starts):
        end = starts[index + 1][0] - 1 if index + 1 < len(starts) else count
        n = min(end, count) - start + 1
        if n > 0:
            segments.append((n, points_each, _occurrence_money(item, money_each)))
    return segments


def _tally_item(spec: Items, item: Item, count: int, trace: Trace, *, unit: str) -> tuple[Decimal, Decimal]:
    """The points and money of one item's occurrences, after the item's caps, explained."""
    segments = _segments(item, count)
    points = sum((n * p for n, p, _m in segments), ZERO)
    money = sum((n * m for n, _p, m in segments), ZERO)
    calc = " + ".join(f"{n} × {show(p)}" for n, p, _m in segments)
    phrase = _("%(name)s × %(count)s: %(calc)s = %(points)s points") % {
        "name": item.name,
        "count": count,
        "calc": calc,
        "points": explain.money(points),
    }
    capped_points = points
    if item.cap_points is not None and points > item.cap_points:
        capped_points = item.cap_points
        phrase += " " + _("(capped at %(cap)s points)") % {"cap": explain.money(item.cap_points)}
    if spec.money_per_point is not None:
        money = capped_points * spec.money_per_point  # each point costs the same, after the point cap
    capped_money = money
    if item.cap_money is not None and money > item.cap_money:
        capped_money = item.cap_money
    if capped_money:
        phrase += pgettext("explanation list", ", ") + _("%(money)s CNY") % {"money": explain.money(capped_money)}
        if capped_money != money:
            phrase += " " + _("(capped at %(cap)s CNY)") % {"cap": explain.money(capped_money)}
    trace.say(phrase)
    trace.step(
        f"{unit}.item",
        code=item.code,
        count=count,
        points=points,
        capped_points=capped_points,
        money=money,
        capped_money=capped_money,
    )
    return capped_points, capped_money


def _total_caps(
    spec: Items, points: Decimal, money: Decimal, trace: Trace, *, unit: str
) -> tuple[Decimal, Decimal]:
    """The totals after ``total_cap_points`` and ``total_cap_money``, explained."""
    if spec.total_cap_points is not None and points > spec.total_cap_points:
        trace.say(
            _("total %(total)s points, capped at %(cap)s")
            % {"total": explain.money(points), "cap": explain.money(spec.total_cap_points)}
        )
        trace.step(f"{unit}.total_cap_points", points_before=points, points=spec.total_cap_points)
        points = spec.total_cap_points
        if spec.money_per_point is not None:
            money = min(money, points * spec.money_per_point)
    if spec.total_cap_money is not None and money > spec.total_cap_money:
        trace.say(
            _("total %(total)s CNY, capped at %(cap)s CNY")
            % {"total": explain.money(money), "cap": explain.money(spec.total_cap_money)}
        )
        trace.step(f"{unit}.total_cap_money", money_before=money, money=spec.total_cap_money)
        money = spec.total_cap_money
    return points, money


def _tally(spec: Items, line: LineInput, trace: Trace, *, unit: str) -> tuple[Decimal, Decimal]:
    """Σ points and Σ money of the items that occurred, after per-item and total caps."""
    _check_occurrences(spec, line)
    total_points = ZERO
    total_money = ZERO
    for item in spec.items:  # config order, so explanations read like the catalogue
        count = line.occurrences.get(item.code, 0)
        if not count:
            continue
        points, money = _tally_item(spec, item, count, trace, unit=unit)
        total_points += points
        total_money += money
    return _total_caps(spec, total_points, total_money, trace, unit=unit)


# --- scoring ------------------------------------------------------------------------------------


def score_deduction(spec: Items, line: LineInput) -> ScoreResult:
    trace = Trace()
    deducted, money = _tally(spec, line, trace, unit="deduction")
    if not trace.steps:
        trace.say(_("no deductions"))
    points = line.max_points - deducted
    trace.say(
        _("score %(max)s − %(deducted)s = %(points)s")
        % {"max": show(line.max_points), "deducted": explain.money(deducted), "points": explain.money(points)}
    )
    trace.step("deduction.points", max_points=line.max_points, deducted=deducted, points=points)
    if spec.floor is not None and points < spec.floor:
        trace.say(_("below the floor of %(floor)s, counted as %(floor)s") % {"floor": explain.money(spec.floor)})
        trace.step("deduction.floor", points_before=points, floor=spec.floor, points=spec.floor)
        points = spec.floor
    if money:
        trace.say(_("%(money)s CNY deducted") % {"money": explain.money(money)})
    return trace.result(points, -money)


def score_bonus(spec: Items, line: LineInput) -> ScoreResult:
    trace = Trace()
    points, money = _tally(spec, line, trace, unit="bonus")
    if not trace.steps:
        trace.say(_("no bonus items"))
    trace.say(_("bonus %(points)s points") % {"points": explain.money(points)})
    trace.step("bonus.points", points=points)
    if money:
        trace.say(_("%(money)s CNY awarded") % {"money": explain.money(money)})
    return trace.result(points, money)
