"""Roll-up: a period made of weighted child periods (annual = quarters, S1-9/S1-4), and each
subject's score over them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from appraisal.models import Period, PeriodRollup, Sheet
from appraisal.services.common import ZERO
from core.numbers import quantize
from indicators.services import plain
from organizations.models import User


def set_rollup(*, parent: Period, children: Mapping[Period, Decimal], acting_user: User | None) -> None:
    """Declares that ``parent`` is made of weighted ``children`` (annual = quarters, S1-9/S1-4)."""
    total = sum(children.values(), ZERO)
    if total != Decimal("1"):
        raise ValueError(_("Roll-up weights add up to %(total)s, not 1.") % {"total": plain(total)})
    with transaction.atomic():
        PeriodRollup.objects.filter(parent=parent).delete()
        PeriodRollup.objects.bulk_create(
            PeriodRollup(organization_id=parent.organization_id, parent=parent, child=child, weight=weight)
            for child, weight in children.items()
        )


@dataclass(frozen=True)
class RolledUp:
    score: Decimal
    explanation: str


def rollup_scores(*, parent: Period) -> dict[tuple[str, int | None], RolledUp]:
    """Each subject's weighted score over the child periods, from one query.

    A subject missing from a child period (joined in the second quarter, a transfer, S1-4) is
    scored over the periods it has, their weights scaled up to 1; the explanation says so.
    """
    weights = dict(PeriodRollup.objects.filter(parent=parent).values_list("child_id", "weight"))
    codes = dict(Period.objects.filter(pk__in=weights).values_list("pk", "code"))
    scores: dict[tuple[str, int | None], list[tuple[int, Decimal]]] = defaultdict(list)
    rows = Sheet.objects.filter(period_id__in=weights, score__isnull=False).values_list(
        "period_id", "subject_kind", "person_id", "team_id", "department_id", "score"
    )
    for period_id, kind, person, team, department, score in rows:
        if score is not None:  # filtered in SQL; this tells the type checker
            scores[(kind, person or team or department)].append((period_id, score))
    result = {}
    for subject, entries in scores.items():
        total_weight = sum((weights[p] for p, _s in entries), ZERO)
        value = quantize(sum((weights[p] * s for p, s in entries), ZERO) / total_weight)
        parts = " + ".join(f"{codes[p]} {s} × {plain(weights[p])}" for p, s in sorted(entries))
        note = "" if total_weight == 1 else " " + _("(weights of %(n)s periods scaled up from %(w)s)") % {
            "n": len(entries), "w": plain(total_weight)}
        scale = "" if total_weight == 1 else f" ÷ {plain(total_weight)}"
        result[subject] = RolledUp(value, f"({parts}){scale} = {value}{note}")
    return result
