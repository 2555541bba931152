"""Helpers for the tests of the pay run's standard inputs (payroll.standard): a closed period whose
people, teams and departments score exactly what a test says, and a pay policy to pay it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django_scopes import scope

from appraisal import services as appraisal
from appraisal.models import Period, Sheet, SheetLine
from indicators.models import Template
from indicators.services import build_template, create_indicator
from payroll import services
from payroll.models import PayRun, PaySlip
from tests.closing import close, make_policy, person_template

D = Decimal
# S1-4 grade bands without quotas: S ≥ 90 (1.2), A 80–89 (1.1), B 70–79 (1.0), C below (0.8).
NO_QUOTAS: dict[str, Any] = {"quotas": []}


def unit_template(org: Any, kind: str) -> Template:
    """A one-line team or department template: completion against 100 at 100 points (score = actual)."""
    code = f"U-{kind}"
    existing = Template.objects.filter(code=code).first()
    if existing:
        return existing
    create_indicator(organization=org, acting_user=None, code=f"{kind.upper()}-WORK", name=f"{kind}业绩",
                     method="completion", config={"cap_rate": "1.2"})
    return build_template(organization=org, acting_user=None, spec={
        "code": code, "name": f"{kind}考核", "subject_kind": kind,
        "parts": [{"code": "p", "name": "业绩", "weight": "1",
                   "lines": [{"indicator": f"{kind.upper()}-WORK", "max_points": "100"}]}]})


def closed_period(org: Any, scores: Mapping[Any, str], *, templates: Sequence[Template] = (), number: int = 10,
                  kind: str = "monthly", year: int = 2025, start_month: int = 1,
                  before_close: Callable[[Period], None] | None = None) -> Period:
    """A closed period of ``org``: the people, teams and departments in ``scores`` score exactly
    their value (the actual against a target of 100); every other sheet is exempt. ``templates``:
    the person template (default: tests.closing.person_template) plus any unit templates."""
    chosen = list(templates) or [person_template(org)]
    policy = make_policy(org, **NO_QUOTAS)
    with scope(organization=org):
        period = appraisal.create_period(organization=org, acting_user=None, kind=kind, year=year, number=number,
                                         templates=chosen, start_month=start_month)
        Period.objects.filter(pk=period.pk).update(grading_policy=policy)
        appraisal.transition(period=period, to="open", acting_user=None)
        appraisal.generate_sheets(period=Period.objects.get(pk=period.pk))
        wanted = {(type(subject).__name__, subject.pk): value for subject, value in scores.items()}
        for sheet in Sheet.objects.filter(period=period):
            key = _key(sheet)
            if key not in wanted:
                Sheet.objects.filter(pk=sheet.pk).update(special_status="exempt", special_reason="not in this test")
                continue
            SheetLine.objects.filter(sheet=sheet, indicator__method="completion").update(
                target=D("100"), actual=D(wanted[key]))
        if before_close is not None:
            before_close(Period.objects.get(pk=period.pk))
        for step in ["scoring", "calibration"]:
            appraisal.transition(period=period, to=step, acting_user=None)
    close(period)
    with scope(organization=org):
        return Period.objects.get(pk=period.pk)


def _key(sheet: Sheet) -> tuple[str, int | None]:
    if sheet.person_id:
        return ("Person", sheet.person_id)
    if sheet.team_id:
        return ("Team", sheet.team_id)
    return ("Department", sheet.department_id)


def save_policy(org: Any, components: list[dict[str, Any]], **kwargs: Any) -> Any:
    with scope(organization=org):
        return services.save_pay_policy(organization=org, acting_user=None, code=kwargs.pop("code", "P"),
                                        name="绩效工资办法", components=components,
                                        effective_from=kwargs.pop("effective_from", dt.date(2025, 1, 1)), **kwargs)


def compute(period: Period) -> PayRun:
    with scope(organization=period.organization):
        run = services.compute_pay_run(period=period, acting_user=None, reason="closed")
    assert run is not None
    return run


def slips(run: PayRun) -> dict[str, PaySlip]:
    with scope(organization=run.organization):
        return {s.person.name: s for s in PaySlip.objects.filter(run=run).select_related("person")}


def amounts(run: PayRun, code: str) -> dict[str, Decimal]:
    """Each paid person's amount of component ``code``, by name."""
    return {name: D(next(line["amount"] for line in slip.lines if line["code"] == code))
            for name, slip in slips(run).items()}
