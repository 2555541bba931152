"""A realistic data set for the tests that look at every page (tests/test_wording.py,
tests/test_accessibility.py, tests/test_mobile.py): the demo organisations (``load_demo``) plus,
in the plant, the month before the demo's open one, scored, closed, published and appealed, with
its pay run in two versions and a finished export.

2026-10 (26 Sep → 25 Oct 2026), templates SHIFT and STAFF, grading policy FD:

* every shift's coal, plant power and make-up water entered; every person rated by their raters
  (self and supervisor) with distinct totals, so no tie waits for calibration; a few lateness
  records (须附依据) on the discipline line; 赵霞 exempt (免考, the policy's set grade B);
* closed (the rules flag the bottom three: 末三名 → no award), one result calibrated, published;
* appeals: the demo employee 吴敏 against the discipline line (forwarded by the head, waiting for
  HR); the two lowest B or C of 发电运行部 against the grade, one waiting for the head, the other
  upheld by HR at 97.00 (regraded to A: a new pay-run version with its delta);
* pay: version 1 computed on the close and confirmed by finance (everyone's slip), a late pay input
  (徐艳's base salary), version 2 after the upheld appeal with its delta, a pay sheet exported (.xlsx).
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.management import call_command
from django_scopes import scope

from appraisal import appeals, services
from appraisal.models import Appeal, GradingPolicy, Period, Rater, Result, Sheet, SheetLine
from appraisal.services import closing, window
from indicators.models import Template
from organizations.models import Department, Job, Organization, Person, User
from payroll import exports
from payroll import services as pay_services
from payroll.models import PayRun

ROLES = ("hr", "head", "employee", "finance", "supervisor")
PASSWORD_SUFFIX = "-demo-2026"
RATING_POINTS = {"优秀": Decimal(100), "良好": Decimal(85), "合格": Decimal(70), "差": Decimal(40)}
SHIFT_DATA = {"OPS-1": {"COAL": "292.4", "POWER": "5.10", "WATER": "1.42"},
              "OPS-2": {"COAL": "301.7", "POWER": "5.32", "WATER": "1.58"},
              "OPS-3": {"COAL": "296.0", "POWER": "5.05", "WATER": "1.61"}}


@dataclass
class Showcase:
    plant: Organization
    period: Period  # the closed, published one
    open_period: Period  # the demo's own, open
    users: dict[str, User]
    runs: list[PayRun]
    # Codes and names people typed (departments, teams, indicators, periods, employee numbers,
    # units …): the only ASCII a zh-Hans page may show besides the product's own few words.
    typed: set[str]


def _combinations() -> list[tuple[str, str, int]]:
    """(self rating, supervisor rating, late count) with pairwise distinct totals
    0.8 × (0.2 × self + 0.8 × supervisor) + 0.2 × (100 − 2 × lates), best first."""
    seen: set[Decimal] = set()
    found: list[tuple[Decimal, tuple[str, str, int]]] = []
    for sup, own, lates in itertools.product(RATING_POINTS, RATING_POINTS, range(0, 6)):
        total = Decimal("0.8") * (Decimal("0.2") * RATING_POINTS[own] + Decimal("0.8") * RATING_POINTS[sup]) \
            + Decimal("0.2") * (100 - 2 * lates)
        if total not in seen:
            seen.add(total)
            found.append((total, (own, sup, lates)))
    found.sort(key=lambda item: -item[0])
    # Spread the people over the range: a few at the top, most in the middle, a few at the bottom.
    step = max(1, len(found) // 32)
    return [combo for _total, combo in found[::step]]


def _enter_shift(sheet: Sheet) -> None:
    data = SHIFT_DATA.get(sheet.team.code if sheet.team else "", {})
    for line in SheetLine.objects.filter(sheet=sheet).select_related("indicator"):
        value = data.get(line.indicator.code)
        if value is not None:
            services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None,
                                 actual=Decimal(value))


def _enter_person(sheet: Sheet, combo: tuple[str, str, int], recorder: Person) -> None:
    own, sup, lates = combo
    lines = {line.indicator.code: line for line in
             SheetLine.objects.filter(sheet=sheet).select_related("indicator", "sheet__period")}
    work = lines["WORK"]
    for rater in Rater.objects.filter(sheet=sheet, recused=False):
        services.rate_line(line=work, rater=rater, acting_user=None, rating=own if rater.role == "self" else sup)
    period = sheet.period
    for day in range(lates):
        services.record_deduction(line=lines["DISC"], acting_user=None, item_code="late", count=1,
                                  occurred_on=period.start + dt.timedelta(days=3 + 5 * day),
                                  evidence="门禁考勤记录", recorded_by=recorder)


def _score(period: Period) -> None:
    recorder = Person.objects.get(employee_no="D0002")
    combos = iter(_combinations())
    for sheet in Sheet.objects.filter(period=period).select_related("team", "person").order_by("pk"):
        if sheet.team_id is not None:
            _enter_shift(sheet)
        elif sheet.person is not None and sheet.person.employee_no == "D0007":
            Sheet.objects.filter(pk=sheet.pk).update(special_status="exempt", special_reason="脱产培训一个月")
        else:
            _enter_person(sheet, next(combos), recorder)


def _calibrate_waiting(period: Period) -> None:
    """Moves apart whatever ties a quota line, by a hundredth of a point each, as HR would."""
    for _round in range(10):
        waiting = list(Result.objects.filter(period=period, needs_calibration=True).order_by("pk"))
        if not waiting:
            return
        for offset, result in enumerate(waiting, start=1):
            base = result.final_score or Decimal(0)
            closing.calibrate(result=Result.objects.get(pk=result.pk), score=base + Decimal("0.01") * offset,
                              reason="与值长核实后微调", acting_user=None)


def _appeals(period: Period, users: dict[str, User], hr: User) -> None:
    employee = Person.objects.get(employee_no="D0009")
    result = Result.objects.select_related("sheet").get(period=period, person=employee)
    disc = SheetLine.objects.get(sheet=result.sheet, indicator__code="DISC")
    line_appeal = appeals.file_appeal(result=result, acting_user=users["employee"], filed_by=employee, line=disc,
                                      reason="10月8日迟到系交接班延误，已有值长证明")
    appeals.forward_appeal(appeal=line_appeal, acting_user=users["head"], opinion="情况属实，建议撤销该条扣分记录")
    others = list(Result.objects.filter(period=period, person__department__code="OPS", grade__in=["B", "C"])
                  .exclude(person=employee).select_related("person").order_by("final_score"))
    upheld, waiting = others[0], others[1]
    for target, reason in [(waiting, "夜班加班未计入工作业绩"), (upheld, "本月承担机组大修任务，评分偏低")]:
        assert target.person is not None
        filed = appeals.file_appeal(result=target, acting_user=None, filed_by=target.person, reason=reason)
        if target is upheld:
            appeals.forward_appeal(appeal=filed, acting_user=users["head"], opinion="同意复核")
            appeals.decide_appeal(appeal=Appeal.objects.get(pk=filed.pk), acting_user=hr, upheld=True,
                                  reason="经核实大修任务属实，改为 97.00 分", new_score=Decimal("97.00"))


def _pay(period: Period, org: Organization) -> PayRun:
    """Version 1 came with the close (results_changed → payroll); a late input waits for the next."""
    pay_services.save_pay_input(organization=org, acting_user=None, period=period, name="base_salary",
                                value=Decimal("5200"), person=Person.objects.get(employee_no="D0010"))
    first = PayRun.objects.filter(period=period).order_by("version").first()
    if first is None:  # the close's on-commit computation did not run: compute as the task would
        first = pay_services.compute_pay_run(period=period, acting_user=None, reason="closed")
    assert first is not None
    return first


def build_showcase(capture: Any) -> Showcase:
    """``capture`` is pytest-django's django_capture_on_commit_callbacks: the demo seeds its calendar
    and the close tells payroll on commit."""
    with capture(execute=True):
        call_command("load_demo", stdout=io.StringIO())
    plant = Organization.objects.get(slug="demo-plant")
    users = {name: User.objects.get(username=name) for name in ROLES}
    with scope(organization=plant):
        templates = [Template.objects.filter(code=code).order_by("-version").first() for code in ("SHIFT", "STAFF")]
        policy = GradingPolicy.objects.filter(code="FD").order_by("-version").first()
        period = services.create_period(organization=plant, acting_user=None, kind="monthly", year=2026, number=10,
                                        start_day=26, name="2026年10月", grading_policy=policy,
                                        templates=[t for t in templates if t is not None])
        with capture(execute=True):
            services.open_period(period=period, acting_user=None)
        period = Period.objects.get(pk=period.pk)
        services.transition(period=period, to="scoring", acting_user=None)
        _score(period)
        services.transition(period=Period.objects.get(pk=period.pk), to="calibration", acting_user=None)
        with capture(execute=True):
            job = closing.start_close(period=Period.objects.get(pk=period.pk), acting_user=users["hr"])
            closing.run_close(job=job)
        _calibrate_waiting(period)
        window.publish(period=Period.objects.get(pk=period.pk), acting_user=users["hr"])
        pay_services.confirm_pay_run(run=_pay(period, plant), acting_user=users["finance"])
        with capture(execute=True):
            _appeals(period, users, users["hr"])
        runs = list(PayRun.objects.filter(period=period).order_by("version"))
        export = exports.start_export(run=runs[-1], kind="pay_sheet", fmt="xlsx", acting_user=users["finance"])
        exports.run_export(job=Job.objects.get(pk=export.pk))
        open_period = Period.objects.get(code="2026-11")
        typed = _typed()
        period = Period.objects.get(pk=period.pk)
    return Showcase(plant, period, open_period, users, runs, typed)


def _typed() -> set[str]:
    from appraisal.models import GradingPolicy as Policy
    from indicators.models import Indicator, TemplatePart
    from organizations.models import DepartmentType, ReviewGroup, Team
    from payroll.models import PayPolicy

    typed: set[str] = set()
    models: list[tuple[Any, tuple[str, ...]]] = [
        (Department, ("code",)), (Team, ("code",)), (Indicator, ("code", "unit")), (Template, ("code",)),
        (TemplatePart, ("code",)), (Period, ("code", "name")), (Person, ("employee_no", "salary_band")),
        (Policy, ("code", "name")), (PayPolicy, ("code", "name")), (User, ("username",)),
        (DepartmentType, ("code",)), (ReviewGroup, ("code",))]
    for model, fields in models:
        for values in model.objects.values_list(*fields):
            typed.update(v for v in values if v)
    for components, inputs, texts in PayPolicy.objects.values_list("components", "inputs", "text_inputs"):
        typed.update(component["code"] for component in components)  # a pay component's code
        typed.update([*(inputs or []), *(texts or [])])  # the inputs a policy declares, by their names
    return typed
