"""Roll-up: a period made of weighted child periods (annual = quarters, S1-9/S1-4), and each
subject's score over them.

The annual period declares its child periods and their weights (PeriodRollup, :func:`set_rollup`;
they add up to 1). How much of a sheet's score comes from them is the sheet's template's roll-up
share (RollupShare, :func:`set_rollup_share`, by template code; none = 0). At the parent's close
(appraisal.services.closing) every child period must have its results, and each normal sheet whose
template has a share scores

    final = (1 − share) × the sheet's own score + share × the children's weighted final scores,

rounded once, at the end. The children's scores are their results' final scores (after calibration
and upheld appeals), read in one query, whatever the head count; a subject is matched across the
children by person (team, department), so a person who moved department mid-year (S1-4) counts
every quarter, and one missing from a child period (joined in April, a whole quarter on leave) is
scored over the periods it has, their weights scaled up to 1. A subject without any child result
keeps its own score, and the result says so. A sheet with a special status is not combined
(refused stays 0, the others take the policy's grade). A result belongs to a sheet: someone with
quarters but no sheet in the parent has no annual result (the parent's templates decide who is
assessed for the year; with share 1 the sheet's own score counts for nothing, though it is still
entered, as any sheet, before the close). The parent's
results are a snapshot: a child changed afterwards reaches it when HR sends the parent back to
calibration and closes it again. The result keeps both parts (Result.rollup)
and its explanation shows them; an upheld appeal against a line of the annual sheet combines the
sheet's new score the same way (:func:`combined_with`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from django.db import transaction
from django.utils.translation import gettext as _

from appraisal.models import Period, PeriodRollup, Result, RollupShare, Sheet, SpecialStatus
from appraisal.services.common import ZERO, IllegalTransition
from core.explain import percent, plain, sep, show
from core.numbers import quantize
from organizations.models import Organization, User

ONE = Decimal("1")
Subject = tuple[str, int | None]  # (subject kind, person, team or department id)


class RollupRefused(ValueError):
    """A roll-up or a share that cannot be saved; ``field`` names the form field at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# --- declaring ----------------------------------------------------------------------------------


def set_rollup(*, parent: Period, children: Mapping[Period, Decimal], acting_user: User | None) -> None:
    """Declares that ``parent`` is made of weighted ``children`` (annual = quarters, S1-9/S1-4);
    no children removes the roll-up. Each change has an audit row; nothing changes, nothing written.
    Refused once the parent has its results, for a child of another organisation, the parent itself,
    a weight not above 0, or weights that do not add up to 1."""
    if parent.results_at is not None:
        raise IllegalTransition(_("Period %(period)s has its results: its child periods can no longer change.")
                                % {"period": parent.code})
    for child, weight in children.items():
        if child.pk == parent.pk or child.organization_id != parent.organization_id:
            raise RollupRefused(_("Period %(period)s cannot be a child period of %(parent)s.")
                                % {"period": child.code, "parent": parent.code}, "children")
        if weight <= ZERO:
            raise RollupRefused(_("The weight of %(period)s must be above 0.") % {"period": child.code}, "weights")
    total = sum(children.values(), ZERO)
    if children and total != ONE:
        raise RollupRefused(_("Roll-up weights add up to %(total)s, not 1.") % {"total": plain(total)}, "weights")
    wanted = {child.pk: weight for child, weight in children.items()}
    with transaction.atomic():
        current = {row.child_id: row for row in PeriodRollup.objects.filter(parent=parent)}
        for child_id, row in current.items():
            if child_id not in wanted:
                _audited(row, acting_user).delete()
            elif row.weight != wanted[child_id]:
                row.weight = wanted[child_id]
                _audited(row, acting_user).save(update_fields=["weight"])
        for child_id, weight in wanted.items():
            if child_id not in current:
                _audited(PeriodRollup(organization_id=parent.organization_id, parent=parent, child_id=child_id,
                                      weight=weight), acting_user).save()


def set_rollup_share(*, organization: Organization, template_code: str, share: Decimal,
                     acting_user: User | None) -> None:
    """The share of the child periods in the score of the sheets of the template ``template_code``
    (0 to 1; 0 removes it). Audited; nothing changes, nothing written."""
    if not ZERO <= share <= ONE:
        raise RollupRefused(_("The share of the child periods must be between 0 and 1, not %(share)s.")
                            % {"share": plain(share)}, "share")
    current = RollupShare.objects.filter(template_code=template_code).first()
    if current is None:
        if share:
            _audited(RollupShare(organization=organization, template_code=template_code, share=share),
                     acting_user).save()
    elif not share:
        _audited(current, acting_user).delete()
    elif current.share != share:
        current.share = share
        _audited(current, acting_user).save(update_fields=["share"])


def shares() -> dict[str, Decimal]:
    """The roll-up share of each template code that has one (the active organisation's)."""
    return dict(RollupShare.objects.values_list("template_code", "share"))


def _audited(row: Any, acting_user: User | None) -> Any:
    row._history_user = acting_user
    row._change_reason = "roll-up"
    return row


def children_of(parent: Period) -> list[tuple[Period, Decimal]]:
    """The child periods of ``parent`` with their weights, in time order."""
    rows = PeriodRollup.objects.filter(parent=parent).select_related("child").order_by("child__start", "child__code")
    return [(row.child, row.weight) for row in rows]


def open_children(parent: Period) -> list[str]:
    """The codes of the child periods that have no results yet (not closed, or sent back to
    calibration): the parent cannot close before them."""
    return list(Period.objects.filter(rollup_parents__parent=parent, results_at__isnull=True)
                .order_by("start", "code").values_list("code", flat=True))


# --- scoring ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RolledUp:
    score: Decimal
    explanation: str
    exact: Decimal = ZERO  # the weighted score before rounding, which a combination reads


def _weighted(entries: Iterable[tuple[int, Decimal]], weights: Mapping[int, Decimal],
              codes: Mapping[int, str]) -> RolledUp:
    """One subject's weighted score over the child periods it has scores in."""
    ordered = sorted(entries, key=lambda entry: (codes[entry[0]], entry[0]))
    total_weight = sum((weights[p] for p, _s in ordered), ZERO)
    exact = sum((weights[p] * s for p, s in ordered), ZERO) / total_weight
    value = quantize(exact)
    parts = " + ".join(f"{codes[p]} {show(s)} × {plain(weights[p])}" for p, s in ordered)
    note = "" if total_weight == 1 else " " + _("(weights of %(n)s periods scaled up from %(w)s)") % {
        "n": len(ordered), "w": plain(total_weight)}
    scale = "" if total_weight == 1 else f" ÷ {plain(total_weight)}"
    return RolledUp(value, f"({parts}){scale} = {value}{note}", exact)


def _by_subject(rows: Iterable[tuple[Any, ...]], weights: Mapping[int, Decimal],
                codes: Mapping[int, str]) -> dict[Subject, RolledUp]:
    scores: dict[Subject, list[tuple[int, Decimal]]] = defaultdict(list)
    for period_id, kind, person, team, department, score in rows:
        if score is not None:  # filtered in SQL; this tells the type checker
            scores[(kind, person or team or department)].append((period_id, score))
    return {subject: _weighted(entries, weights, codes) for subject, entries in scores.items()}


def rollup_scores(*, parent: Period) -> dict[Subject, RolledUp]:
    """Each subject's weighted SHEET score over the child periods, from one query: a preview while
    the children still run (the close reads their results instead, :func:`combine`).

    A subject missing from a child period (joined in the second quarter, a transfer, S1-4) is
    scored over the periods it has, their weights scaled up to 1; the explanation says so.
    """
    weights, codes = _children(parent)
    rows = Sheet.objects.filter(period_id__in=weights, score__isnull=False).values_list(
        "period_id", "subject_kind", "person_id", "team_id", "department_id", "score")
    return _by_subject(rows, weights, codes)


def _children(parent: Period) -> tuple[dict[int, Decimal], dict[int, str]]:
    weights, codes = {}, {}
    for child_id, weight, code in PeriodRollup.objects.filter(parent=parent).values_list("child_id", "weight",
                                                                                        "child__code"):
        weights[child_id], codes[child_id] = weight, code
    return weights, codes


def rolled_up_results(parent: Period, weights: Mapping[int, Decimal],
                      codes: Mapping[int, str]) -> dict[Subject, RolledUp]:
    """Each subject's weighted FINAL score over the child periods' results (one query): a result
    without a final score (a special status, not assessed by a rule) does not count."""
    rows = Result.objects.filter(period_id__in=list(weights), final_score__isnull=False).values_list(
        "period_id", "subject_kind", "sheet__person_id", "sheet__team_id", "sheet__department_id", "final_score")
    return _by_subject(rows, weights, codes)


class _Combinable(Protocol):
    sheet_id: int
    subject_key: tuple[str, int | None]
    status: str
    raw_score: Decimal | None
    rollup: dict[str, Any] | None


def combine(period: Period, drafts: Sequence[_Combinable]) -> int:
    """At the close of ``period``: each normal draft whose template has a roll-up share takes
    (1 − share) × its own score + share × its rolled-up children (see the module docstring), with
    both parts kept in ``draft.rollup``. Four queries whatever the head count; returns how many
    drafts were combined (none when the period has no child periods)."""
    weights, codes = _children(period)
    if not weights:
        return 0
    by_template = shares()
    templates = dict(Sheet.objects.filter(period=period).values_list("pk", "template__code"))
    rolled = rolled_up_results(period, weights, codes)
    combined = 0
    for draft in drafts:
        share = by_template.get(templates.get(draft.sheet_id, ""), ZERO)
        if not share or draft.status != SpecialStatus.NORMAL:
            continue
        previous = draft.rollup  # a unit share combined first (appraisal.services.unit_share)
        draft.raw_score, draft.rollup = _combined(draft.raw_score, share, rolled.get(draft.subject_key))
        if previous:
            draft.rollup["inner"] = previous
            draft.rollup["explanation"] = f'{previous["explanation"]}{sep()}{draft.rollup["explanation"]}'
        combined += 1
    return combined


def _combined(own: Decimal | None, share: Decimal, rolled: RolledUp | None) -> tuple[Decimal | None, dict[str, Any]]:
    """The score of one sheet with its roll-up, and what Result.rollup keeps of it."""
    kept: dict[str, Any] = {"share": plain(share), "own": None if own is None else str(own),
                            "children": None, "exact": None}
    if rolled is None:
        kept["explanation"] = _("no result in the child periods: this period's sheet alone")
        return own, kept
    kept["children"], kept["exact"] = str(rolled.score), str(rolled.exact)
    kept["detail"] = rolled.explanation
    if own is None and share != ONE:
        kept["explanation"] = _("this period's sheet has no score")
        return None, kept
    score = combined_with(kept, own)
    kept["explanation"] = explain(kept, own, score)
    return score, kept


def combined_with(rollup: Mapping[str, Any] | None, own: Decimal | None) -> Decimal | None:
    """The combined score of a sheet whose own score is ``own``, with the roll-up kept at close;
    ``own`` when there is none."""
    if not rollup or rollup.get("exact") is None:
        return own
    share = Decimal(rollup["share"])
    own_part = ZERO if own is None else (ONE - share) * own
    return quantize(own_part + share * Decimal(rollup["exact"]))


def with_own_score(rollup: Mapping[str, Any] | None, own: Decimal) -> tuple[Decimal, dict[str, Any] | None]:
    """An upheld appeal rescored the sheet of a combined result (appraisal.appeals): the new score,
    combined with the same children, and the roll-up to keep (its own part and explanation anew)."""
    if not rollup:
        return own, None
    inner = rollup.get("inner")
    if inner:  # a unit share under the child periods: the sheet's score goes through it first
        own, inner = with_own_score(inner, own)
    if rollup.get("exact") is None:
        return own, {**rollup, "inner": inner} if inner else dict(rollup)
    score = combined_with(rollup, own)
    assert score is not None  # own is given
    kept = {**rollup, "own": str(own)}
    kept["explanation"] = explain(kept, own, score)
    if inner:
        kept["inner"] = inner
        kept["explanation"] = f'{inner["explanation"]}{sep()}{kept["explanation"]}'
    return score, kept


def explain(rollup: Mapping[str, Any], own: Decimal | None, score: Decimal | None) -> str:
    share = Decimal(rollup["share"])
    if rollup.get("source") == "unit":
        return _("own sheet %(own)s × %(own_share)s + result of %(unit)s %(unit_score)s × %(share)s = %(score)s") % {
            "own": "—" if own is None else show(own), "own_share": percent(ONE - share), "unit": rollup.get("unit", ""),
            "unit_score": show(Decimal(rollup["children"])), "share": percent(share),
            "score": "—" if score is None else show(score)}
    head = _("this period's sheet %(own)s × %(own_share)s + child periods %(children)s × %(share)s = %(score)s") % {
        "own": "—" if own is None else show(own), "own_share": percent(ONE - share),
        "children": rollup["children"], "share": percent(share), "score": "—" if score is None else show(score)}
    return head + sep() + _("child periods: %(detail)s") % {"detail": rollup["detail"]}

