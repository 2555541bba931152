"""The draft policy applied to a closed period's scores: how many people each grade would take.

Set-based: two queries whatever the size of the period (the results with where each subject sits,
and the departments for their types), then appraisal.grading.distribute per population in memory,
as the close does. The preview grades the scores the period's results are graded from (appeal >
calibration > close) and the special statuses as the draft says; the rules over consecutive
periods are not applied (they read the past periods and the sheets' facts: the close's work).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from appraisal import grading
from appraisal.models import GradingPolicy, Period, Result, SpecialStatus
from core.configs import ConfigError
from organizations.models import Department

GRADED = (SpecialStatus.NORMAL, SpecialStatus.REFUSED)
NOT_ASSESSED = ""


@dataclass(frozen=True)
class Row:
    grade: str
    label: str
    by_band: int
    draft: int
    now: int


@dataclass
class Preview:
    period: Period | None = None
    rows: list[Row] = field(default_factory=list)
    not_assessed: tuple[int, int] = (0, 0)  # (draft, now)
    populations: int = 0
    error: str = ""


def closed_periods() -> list[Period]:
    """The periods a draft can be tried on: closed ones, newest first."""
    return list(Period.objects.filter(results_at__isnull=False).order_by("-start")[:12])


def _population_key(policy_population: str, kind: str, where: int | None, types: Mapping[int, int | None]) -> str:
    if policy_population == GradingPolicy.Population.DEPARTMENT and where is not None:
        return f"{kind}:d{where}"
    if policy_population == GradingPolicy.Population.DEPARTMENT_TYPE and types.get(where or 0) is not None:
        return f"{kind}:t{types[where or 0]}"
    return kind


def draft_counts(period: Period, values: Mapping[str, Any]) -> Preview:
    """How many would hold each grade in ``period`` under the draft ``values`` (as the service takes them)."""
    try:
        scale = grading.GradeScale.from_config(values["scale"])
        quotas = grading.read_quotas(list(values["quotas"]), scale)
    except ConfigError:
        return Preview(period=period, error=_("Fix the fields marked in red to see the counts."))
    types = dict(Department.objects.values_list("pk", "department_type_id"))
    rows = Result.objects.filter(period=period).values_list(
        "pk", "subject_kind", "status", "raw_score", "calibrated_score", "appeal_score", "grade",
        "sheet__person__department_id", "sheet__team__department_id", "sheet__department_id")
    populations: dict[str, list[tuple[int, Decimal]]] = defaultdict(list)
    draft: Counter[str] = Counter()
    now: Counter[str] = Counter()
    set_grades = values.get("status_grades") or {}
    for pk, kind, status, raw, calibrated, appealed, grade, person_dept, team_dept, dept in rows:
        now[grade or NOT_ASSESSED] += 1
        if status not in GRADED:
            draft[set_grades.get(status) or NOT_ASSESSED] += 1
            continue
        score = next((s for s in (appealed, calibrated, raw) if s is not None), Decimal(0))
        where = person_dept or team_dept or dept
        populations[_population_key(str(values["population"]), kind, where, types)].append((pk, score))
    by_band: Counter[str] = Counter()
    try:
        for members in populations.values():
            outcome = grading.distribute(members, scale, quotas, rounding=str(values["rounding"]))
            for subject in outcome.subjects:
                by_band[subject.band_grade.code] += 1
                draft[subject.final_grade.code] += 1
    except (grading.GradingError, ConfigError) as error:
        return Preview(period=period, error=str(error))
    table = [Row(g.code, g.label, by_band[g.code], draft[g.code], now[g.code]) for g in scale.grades]
    return Preview(period=period, rows=table, not_assessed=(draft[NOT_ASSESSED], now[NOT_ASSESSED]),
                   populations=len(populations))
