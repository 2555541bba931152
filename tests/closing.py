"""Helpers for tests of the close, the review window and appeals: a period whose people score
exactly what a test says, and a grading policy after S1-4."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django_scopes import scope

from appraisal import services
from appraisal.models import GradingPolicy, Period, Result, Sheet, SheetLine
from appraisal.policies import save_grading_policy
from appraisal.services import closing, window
from indicators.models import Template
from indicators.services import build_template, create_indicator
from organizations import services as org_services
from organizations.models import Job, Organization, Person

# S1-4: S ≥ 90, A 80–89, B 70–79, C below 70; coefficients 1.2 / 1.1 / 1.0 / 0.8.
S14_SCALE = {"bands": [
    {"grade": "S", "label": "优秀", "from": "90", "max": "120", "coefficient": "1.2"},
    {"grade": "A", "label": "良好", "from": "80", "coefficient": "1.1"},
    {"grade": "B", "label": "合格", "from": "70", "coefficient": "1.0"},
    {"grade": "C", "label": "待改进", "from": None, "coefficient": "0.8"},
]}
S14_QUOTAS = [{"grade": "S", "op": "<=", "share": "0.05"}, {"grade": "A", "op": "<=", "share": "0.15"},
              {"grade": "B", "op": ">=", "share": "0.70"}, {"grade": "C", "op": "<=", "share": "0.10"}]


def make_policy(org: Organization, **overrides: Any) -> GradingPolicy:
    spec: dict[str, Any] = {"code": "S14", "name": "S1-4 强制分布", "scale": S14_SCALE, "quotas": S14_QUOTAS}
    spec.update(overrides)
    with scope(organization=org):
        return save_grading_policy(organization=org, acting_user=None, **spec)


def person_template(org: Organization) -> Template:
    """One line, completion against a target of 100 at 100 points: the score is the actual."""
    with scope(organization=org):
        existing = Template.objects.filter(code="PT").first()
        if existing:
            return existing
        create_indicator(organization=org, acting_user=None, code="WORK", name="工作完成", method="completion",
                         config={"cap_rate": "1.2"})
        return build_template(organization=org, acting_user=None, spec={
            "code": "PT", "name": "员工考核", "subject_kind": "person",
            "parts": [{"code": "p", "name": "业绩", "weight": "1",
                       "lines": [{"indicator": "WORK", "max_points": "100"}]}],
        })


def add_people(org: Organization, department: Any, count: int, prefix: str = "x") -> list[Person]:
    with scope(organization=org):
        return [org_services.create_person(organization=org, acting_user=None, employee_no=f"{prefix}{i:03}",
                                           name=f"{prefix}员工{i:03}", department=department)
                for i in range(1, count + 1)]


def scored_period(org: Organization, scores: Mapping[Person, str | None], *, policy: GradingPolicy | None,
                  number: int = 10, kind: str = "monthly", year: int = 2025,
                  state: str = Period.State.CALIBRATION) -> Period:
    """A period in ``state`` whose listed people score exactly ``scores`` (None: left unscored);
    everyone else in the organisation is marked exempt so the tests control the population."""
    template = person_template(org)
    with scope(organization=org):
        period = services.create_period(organization=org, acting_user=None, kind=kind, year=year, number=number,
                                        templates=[template])
        Period.objects.filter(pk=period.pk).update(grading_policy=policy)
        services.transition(period=period, to="open", acting_user=None)
        services.generate_sheets(period=Period.objects.get(pk=period.pk))
        by_person = {p.pk: v for p, v in scores.items()}
        for sheet in Sheet.objects.filter(period=period):
            if sheet.person_id not in by_person:
                Sheet.objects.filter(pk=sheet.pk).update(special_status="exempt", special_reason="not in this test")
                continue
            value = by_person[sheet.person_id]
            SheetLine.objects.filter(sheet=sheet).update(
                target=Decimal("100"), actual=None if value is None else Decimal(value))
        for step in ["scoring", "calibration"]:
            services.transition(period=period, to=step, acting_user=None)
        if state != Period.State.CALIBRATION:
            raise ValueError("close the period with close() instead")
        return Period.objects.get(pk=period.pk)


def close(period: Period) -> Job:
    """Runs the close as the task would (start, then the task body), returning the finished job."""
    with scope(organization=period.organization):
        job = closing.start_close(period=period, acting_user=None)
        closing.run_close(job=job)
        return Job.objects.get(pk=job.pk)


def results(period: Period) -> dict[str, Result]:
    """The period's results keyed by the person's name."""
    with scope(organization=period.organization):
        return {r.person.name: r for r in Result.objects.filter(period=period).select_related("person")
                if r.person is not None}


def grades(period: Period, names: Sequence[str] | None = None) -> dict[str, str]:
    found = results(period)
    return {name: r.grade for name, r in found.items() if names is None or name in names}


def published_with_appeal(world: Any, template: Template, *, number: int = 11) -> tuple[Period, Result, Any]:
    """A published period of ``template`` for the whole world, everyone exempt (set grade B), and
    an open appeal by the person "employee": one row of every kind the results API shows."""
    from appraisal import appeals
    from appraisal.models import Appeal

    org = world.org
    policy = make_policy(org, code=f"EX{number}", status_grades={"exempt": "B"})
    with scope(organization=org):
        period = services.create_period(organization=org, acting_user=None, kind="monthly", year=2025, number=number,
                                        templates=[template])
        Period.objects.filter(pk=period.pk).update(grading_policy=policy)
        services.transition(period=period, to="open", acting_user=None)
        services.generate_sheets(period=Period.objects.get(pk=period.pk))
        Sheet.objects.filter(period=period).update(special_status="exempt", special_reason="fixture")
        for step in ["scoring", "calibration"]:
            services.transition(period=period, to=step, acting_user=None)
    close(period)
    with scope(organization=org):
        window.publish(period=Period.objects.get(pk=period.pk), acting_user=None)
        result = Result.objects.get(period=period, person=world.people["employee"])
        appeal: Appeal = appeals.file_appeal(result=result, acting_user=None, filed_by=world.people["employee"],
                                             reason="fixture")
        return Period.objects.get(pk=period.pk), result, appeal
