"""A published period whose sheets have one line of each kind an appeal may change, for the tests
of appeals against a line (tests/test_line_appeals.py, tests/test_browser_appeal.py).

Template LINE, base 100: 业绩 (weight 0.6) has WORK 工作业绩, completion against a target of 100;
纪律 (0.2) has DISC 劳动纪律, a deduction of 10 points per 迟到 (late); 态度 (0.2) has ATT 工作态度,
rated 优秀 100 / 良好 80 / 合格 60 / 差 0 by the direct supervisor (the head, everyone's manager here).

* employee: WORK actual 70 → 70.00; one 迟到 → DISC 90.00; ATT 合格 → 60.00;
  total 100 × (0.6 × 0.70 + 0.2 × 0.90 + 0.2 × 0.60) = 72.00 (B)
* colleague: WORK actual 85 → 85.00; no record → DISC 100.00; ATT 合格 → 60.00;
  total 51 + 20 + 12 = 83.00 (A)

The policy allows A to at most half of the population (of two: one place) and no other quota.
HR, the head and finance are exempt (not assessed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django_scopes import scope

from appraisal import services
from appraisal.models import Period, Rater, Result, Sheet, SheetLine
from appraisal.services import window
from indicators.models import Template
from indicators.services import build_template, create_indicator
from organizations.models import Person, ReviewGroup
from tests.closing import close, make_policy
from tests.conftest import World

ATT_SCALE = {"unit": "points", "scale": [{"label": "优秀", "points": "100"}, {"label": "良好", "points": "80"},
                                         {"label": "合格", "points": "60"}, {"label": "差", "points": "0"}]}
DISC_ITEMS = {"items": [{"code": "late", "name": "迟到", "points": "10"},
                        {"code": "absent", "name": "旷工", "points": "20"}]}
QUOTAS = [{"grade": "A", "op": "<=", "share": "0.5"}]


@dataclass
class LinePeriod:
    period: Period
    result: Result  # the employee's
    colleague: Result
    lines: dict[str, SheetLine]  # the employee's, by indicator code


def line_template(world: World) -> Template:
    org = world.org
    with scope(organization=org):
        create_indicator(organization=org, acting_user=None, code="WORK", name="工作业绩", method="completion",
                         config={"cap_rate": "1.2"})
        create_indicator(organization=org, acting_user=None, code="DISC", name="劳动纪律", method="deduction",
                         config=DISC_ITEMS)
        create_indicator(organization=org, acting_user=None, code="ATT", name="工作态度", method="rating",
                         config=ATT_SCALE)
        return build_template(organization=org, acting_user=None, spec={
            "code": "LINE", "name": "员工月度考核", "subject_kind": "person",
            "parts": [
                {"code": "perf", "name": "业绩", "weight": "0.6",
                 "lines": [{"indicator": "WORK", "max_points": "100"}]},
                {"code": "disc", "name": "纪律", "weight": "0.2",
                 "lines": [{"indicator": "DISC", "max_points": "100"}]},
                {"code": "att", "name": "态度", "weight": "0.2",
                 "lines": [{"indicator": "ATT", "max_points": "100", "source": "raters"}]},
            ],
            "raters": [{"role": "supervisor", "weight": "1"}],
        })


def _enter(sheet: Sheet, actual: str, lates: int, rating: str) -> None:
    lines = {line.indicator.code: line for line in SheetLine.objects.filter(sheet=sheet).select_related(
        "indicator", "sheet__period")}
    work = lines["WORK"]
    services.update_line(line_id=work.pk, expected_version=work.version, acting_user=None,
                         target=Decimal("100"), actual=Decimal(actual))
    period = sheet.period
    for day in range(lates):
        services.record_deduction(line=lines["DISC"], acting_user=None, item_code="late", count=1,
                                  occurred_on=period.start + dt.timedelta(days=day), evidence="考勤记录")
    rater = Rater.objects.get(sheet=sheet, role="supervisor")
    services.rate_line(line=lines["ATT"], rater=rater, acting_user=None, rating=rating)


def line_period(world: World, *, publish: bool = True) -> LinePeriod:
    """The period described above, closed and (unless told otherwise) published. Needs the head's
    membership (the ``head`` fixture): the head rates, and is the supervisor who forwards."""
    people = world.people
    org = world.org
    template = line_template(world)
    with scope(organization=org):
        Person.objects.filter(pk__in=[people["employee"].pk, people["colleague"].pk]).update(manager=people["head"])
        group = ReviewGroup.objects.filter(code="SUP").first()
    policy = make_policy(org, code="LINE", quotas=QUOTAS, appeal_group=group)
    with scope(organization=org):
        period = services.create_period(organization=org, acting_user=None, kind="monthly", year=2025, number=10,
                                        templates=[template])
        Period.objects.filter(pk=period.pk).update(grading_policy=policy)
        services.transition(period=period, to="open", acting_user=None)
        services.generate_sheets(period=Period.objects.get(pk=period.pk))
        Sheet.objects.filter(period=period).exclude(
            person__in=[people["employee"], people["colleague"]]).update(special_status="exempt",
                                                                         special_reason="not in this test")
        services.transition(period=period, to="scoring", acting_user=None)
        _enter(Sheet.objects.get(period=period, person=people["employee"]), "70", 1, "合格")
        _enter(Sheet.objects.get(period=period, person=people["colleague"]), "85", 0, "合格")
        services.transition(period=period, to="calibration", acting_user=None)
    close(period)
    with scope(organization=org):
        if publish:
            window.publish(period=Period.objects.get(pk=period.pk), acting_user=None)
        result = Result.objects.select_related("sheet").get(period=period, person=people["employee"])
        colleague = Result.objects.get(period=period, person=people["colleague"])
        lines = {line.indicator.code: line for line in SheetLine.objects.filter(sheet=result.sheet).select_related(
            "indicator")}
        return LinePeriod(Period.objects.get(pk=period.pk), result, colleague, lines)
