"""Sheet generation writes plain rows (appraisal.services.sheet_rows): the same sheets, lines and
raters as the model-instance path it replaced, in a fixed number of queries, idempotently."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.translation import gettext as _
from django_scopes import scope

from appraisal import services
from appraisal.models import Period, Rater, Sheet, SheetLine
from appraisal.services import sheet_rows
from indicators.services import add_benchmark, build_template, create_indicator
from organizations import services as org_services
from organizations.models import Membership

RATED = {"unit": "points", "scale": [{"label": "A", "points": "90"}, {"label": "B", "points": "60"}]}


def _open(org, templates, number):
    period = services.create_period(organization=org, acting_user=None, kind="monthly", year=2025, number=number,
                                    templates=templates)
    services.open_period(period=period, acting_user=None)
    services.generate_sheets(period=Period.objects.get(pk=period.pk))
    return Period.objects.get(pk=period.pk)


@pytest.fixture
def rich(world_a, hr, head, supervisor):
    """Person, team and department templates with benchmarks at every level, a last-period
    baseline, and every rater role; September opened with actuals, October opened to compare."""
    org, w = world_a.org, world_a
    with scope(organization=org):
        org_services.set_department_head(membership=Membership.objects.get(user=hr), department=w.back_office,
                                         is_head=True, acting_user=None)
        org_services.set_department_head(membership=Membership.objects.get(user=head), department=w.shift_dept,
                                         is_head=True, acting_user=None)
        create_indicator(organization=org, acting_user=None, code="WORK", name="WORK", method="rating", config=RATED)
        out = create_indicator(organization=org, acting_user=None, code="OUT", name="OUT", method="completion",
                               config={"cap_rate": "1.2", "basis": "benchmark"})
        create_indicator(organization=org, acting_user=None, code="DEP", name="DEP", method="completion",
                         config={"basis": "baseline", "cap_rate": "1.5"}, baseline_source="last_period")
        for value, where in [("100", {}), ("105", {"months": [10]}), ("120", {"department": w.shift_dept}),
                             ("130", {"team": w.shift}), ("150", {"person": w.people["employee"]}),
                             ("90", {"department": w.back_office})]:
            add_benchmark(indicator=out, acting_user=None, value=value, **where)
        lines = [{"indicator": "WORK", "max_points": "40", "source": "raters"},
                 {"indicator": "OUT", "max_points": "30"}, {"indicator": "DEP", "max_points": "30"}]
        kpis = [{"indicator": "OUT", "max_points": "50"}, {"indicator": "DEP", "max_points": "50"}]
        templates = [
            build_template(organization=org, acting_user=None, spec={
                "code": "STAFF", "name": "员工", "subject_kind": "person",
                "parts": [{"code": "p", "name": "业绩", "weight": "1", "lines": lines}],
                "raters": [{"role": "self", "weight": "0.2", "missing_counts_as_zero": True},
                           {"role": "supervisor", "weight": "0.4"},
                           {"role": "second_line", "weight": "0.2", "department": w.production.code},
                           {"role": "group", "weight": "0.2", "group": "SUP"}]}),
            build_template(organization=org, acting_user=None, spec={
                "code": "SHIFT", "name": "值", "subject_kind": "team",
                "parts": [{"code": "k", "name": "指标", "weight": "1", "lines": kpis}],
                "raters": [{"role": "supervisor", "weight": "1"}]}),
            build_template(organization=org, acting_user=None, spec={
                "code": "DEPT", "name": "部门", "subject_kind": "department",
                "parts": [{"code": "k", "name": "指标", "weight": "0.7", "lines": kpis},
                          {"code": "r", "name": "评议", "weight": "0.3",
                           "lines": [{"indicator": "WORK", "max_points": "100", "source": "raters"}]}],
                "raters": [{"role": "peer_departments", "weight": "1"}]}),
        ]
        september = _open(org, templates, 9)
        SheetLine.objects.filter(sheet__period=september, indicator__code="DEP").update(actual=Decimal("80"))
        SheetLine.objects.filter(sheet__period=september, indicator__code="DEP",
                                 sheet__person=w.people["employee"]).update(actual=Decimal("95.5"))
        october = _open(org, templates, 10)
    return world_a, templates, october


def _subject(person: str | None, team: str | None, department: str | None) -> str:
    return person or team or department or ""


def _text(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def written(period: Period) -> dict[str, list[Any]]:
    """What generation wrote, by natural keys (no ids), sorted. A line's snapshot of its template
    line is one column (whether it matches); what a line has before data entry is counted by value."""
    sheets = [(template, kind, _subject(p, t, d), score, explanation, status, reason, data > scored)
              for template, kind, p, t, d, score, explanation, status, reason, data, scored
              in Sheet.objects.filter(period=period).values_list(
                  "template__code", "subject_kind", "person__employee_no", "team__code", "department__code", "score",
                  "explanation", "special_status", "special_reason", "data_version", "scored_version")]
    lines: list[tuple[Any, ...]] = []
    blank: list[tuple[Any, ...]] = []
    for line in SheetLine.objects.filter(sheet__period=period).select_related(
            "sheet__person", "sheet__team", "sheet__department", "template_line__indicator", "template_line__part",
            "indicator"):
        tline, sheet = line.template_line, line.sheet
        assert tline is not None
        snapshot = (tline.indicator_id, tline.part.code, tline.source, tline.indicator.method, tline.effective_config(),
                    tline.indicator.direction, tline.indicator.baseline_source, tline.max_points,
                    tline.part.sort_order * 1000 + tline.sort_order)
        subject = _subject(sheet.person.employee_no if sheet.person else None,
                           sheet.team.code if sheet.team else None,
                           sheet.department.code if sheet.department else None)
        lines.append((subject, line.indicator.code, _text(line.target),
                      snapshot == (line.indicator_id, line.part_code, line.source, line.method, line.config,
                                   line.direction, line.baseline_source, line.max_points, line.sort_order)))
        blank.append(tuple(_text(getattr(line, name)) for name in (
            "label", "actual", "inputs", "rating", "accepted", "acceptance_round", "score", "raw_score", "money",
            "explanation", "version")))
    raters = [(_subject(p, t, d), role, person, department, str(weight), zero, recused,
               "being assessed" if reason and reason == _("being assessed") else reason)
              for p, t, d, role, person, department, weight, zero, recused, reason
              in Rater.objects.filter(sheet__period=period).values_list(
                  "sheet__person__employee_no", "sheet__team__code", "sheet__department__code", "role",
                  "person__employee_no", "department__code", "weight", "missing_counts_as_zero", "recused",
                  "recusal_reason")]
    return {"sheets": sorted(sheets), "lines": sorted(lines, key=repr), "raters": sorted(raters, key=repr),
            "blank": sorted({repr(b) for b in blank})}


# Written by the model-instance path (bulk_create with ignore_conflicts) this replaced, on this fixture.
# Department B's two peers share a head: one rater, the first, as the unique constraint kept it.
BEFORE: dict[str, list[Any]] = {
    "blank": ["('', None, {}, '', None, None, None, None, '0.00', '', 1)"],
    "lines": [("a-B", "DEP", "80.0000", True), ("a-B", "OUT", "90.0000", True), ("a-B", "WORK", None, True),
              ("a-P", "DEP", "80.0000", True), ("a-P", "OUT", "105.0000", True), ("a-P", "WORK", None, True),
              ("a-P1", "DEP", "80.0000", True), ("a-P1", "OUT", "120.0000", True), ("a-P1", "WORK", None, True),
              ("a-S1", "DEP", "80.0000", True), ("a-S1", "OUT", "130.0000", True),
              ("a-colleague", "DEP", "80.0000", True), ("a-colleague", "OUT", "90.0000", True),
              ("a-colleague", "WORK", None, True),
              ("a-employee", "DEP", "95.5000", True), ("a-employee", "OUT", "150.0000", True),
              ("a-employee", "WORK", None, True),
              ("a-finance", "DEP", "80.0000", True), ("a-finance", "OUT", "90.0000", True),
              ("a-finance", "WORK", None, True),
              ("a-head", "DEP", "80.0000", True), ("a-head", "OUT", "105.0000", True), ("a-head", "WORK", None, True),
              ("a-hr", "DEP", "80.0000", True), ("a-hr", "OUT", "90.0000", True), ("a-hr", "WORK", None, True)],
    "raters": [("a-B", "peer_departments", "a-head", "a-P", "1.000000", False, False, ""),
               ("a-P", "peer_departments", "a-head", "a-P1", "1.000000", False, False, ""),
               ("a-P", "peer_departments", "a-hr", "a-B", "1.000000", False, False, ""),
               ("a-P1", "peer_departments", "a-head", "a-P", "1.000000", False, False, ""),
               ("a-P1", "peer_departments", "a-hr", "a-B", "1.000000", False, False, ""),
               ("a-S1", "supervisor", "a-head", None, "1.000000", False, False, ""),
               ("a-colleague", "group", "a-colleague", None, "0.200000", False, True, "being assessed"),
               ("a-colleague", "second_line", "a-head", "a-P", "0.200000", False, False, ""),
               ("a-colleague", "self", "a-colleague", None, "0.200000", True, False, ""),
               ("a-colleague", "supervisor", "a-hr", None, "0.400000", False, False, ""),
               ("a-employee", "group", "a-colleague", None, "0.200000", False, False, ""),
               ("a-employee", "second_line", "a-head", "a-P", "0.200000", False, False, ""),
               ("a-employee", "self", "a-employee", None, "0.200000", True, False, ""),
               ("a-employee", "supervisor", "a-head", None, "0.400000", False, False, ""),
               ("a-finance", "group", "a-colleague", None, "0.200000", False, False, ""),
               ("a-finance", "second_line", "a-head", "a-P", "0.200000", False, False, ""),
               ("a-finance", "self", "a-finance", None, "0.200000", True, False, ""),
               ("a-finance", "supervisor", "a-hr", None, "0.400000", False, False, ""),
               ("a-head", "group", "a-colleague", None, "0.200000", False, False, ""),
               ("a-head", "self", "a-head", None, "0.200000", True, False, ""),
               ("a-hr", "group", "a-colleague", None, "0.200000", False, False, ""),
               ("a-hr", "second_line", "a-head", "a-P", "0.200000", False, False, ""),
               ("a-hr", "self", "a-hr", None, "0.200000", True, False, "")],
    "sheets": [("DEPT", "department", "a-B", None, "", "normal", "", True),
               ("DEPT", "department", "a-P", None, "", "normal", "", True),
               ("DEPT", "department", "a-P1", None, "", "normal", "", True),
               ("SHIFT", "team", "a-S1", None, "", "normal", "", True),
               ("STAFF", "person", "a-colleague", None, "", "normal", "", True),
               ("STAFF", "person", "a-employee", None, "", "normal", "", True),
               ("STAFF", "person", "a-finance", None, "", "normal", "", True),
               ("STAFF", "person", "a-head", None, "", "normal", "", True),
               ("STAFF", "person", "a-hr", None, "", "normal", "", True)],
}


def _ids(period: Period) -> tuple[set[int], set[int], set[int]]:
    return (set(Sheet.objects.filter(period=period).values_list("pk", flat=True)),
            set(SheetLine.objects.filter(sheet__period=period).values_list("pk", flat=True)),
            set(Rater.objects.filter(sheet__period=period).values_list("pk", flat=True)))


def test_it_writes_the_sheets_lines_and_raters_the_instance_path_wrote(rich):
    world, _templates, october = rich
    with scope(organization=world.org):
        assert written(october) == BEFORE


def test_it_writes_the_same_when_it_reads_every_subject_at_once(rich, monkeypatch):
    world, _templates, october = rich
    monkeypatch.setattr(sheet_rows, "FEW_SUBJECTS", 0)  # as for a period of more than a thousand sheets
    with scope(organization=world.org):
        Sheet.objects.filter(period=october).delete()
        services.generate_sheets(period=october)
        assert written(october) == BEFORE


def test_it_adds_nothing_when_run_again(rich):
    world, _templates, october = rich
    with scope(organization=world.org):
        ids = _ids(october)
        assert services.generate_sheets(period=october) == {"sheets": 9, "created": 0}
        assert _ids(october) == ids
        assert written(october) == BEFORE


def test_it_gives_an_earlier_sheet_the_line_and_rater_it_misses(rich):
    world, _templates, october = rich
    with scope(organization=world.org):
        sheet = Sheet.objects.get(period=october, person=world.people["employee"])
        SheetLine.objects.filter(sheet=sheet, indicator__code="OUT").delete()
        Rater.objects.filter(sheet=sheet, role="group").delete()
        sheets, lines, raters = _ids(october)
        services.generate_sheets(period=october)
        after = _ids(october)
        assert written(october) == BEFORE
        assert (after[0], len(after[1] - lines), len(after[2] - raters)) == (sheets, 1, 1)


def test_it_gives_earlier_department_sheets_a_peer_rater_from_a_new_department(rich):
    world, _templates, october = rich
    with scope(organization=world.org):
        org_services.create_department(organization=world.org, acting_user=None, code="a-N", name="新部门")
        assert services.generate_sheets(period=october)["created"] == 1
        peers = set(Rater.objects.filter(sheet__period=october, department__code="a-N")
                    .values_list("sheet__department__code", "person_id"))
        news = Rater.objects.filter(sheet__period=october, sheet__department__code="a-N").count()
    assert peers == {("a-B", None), ("a-P", None), ("a-P1", None)}  # the new department has no head yet
    assert news == 2  # the head of P (who heads P1 too: one rater, as the unique constraint has it) and B's


def _people(world, count: int, start: int) -> None:
    for n in range(start, start + count):
        org_services.create_person(organization=world.org, acting_user=None, employee_no=f"X{n:02d}", name=f"X{n}",
                                   department=world.back_office)


def _queries_to_generate(period: Period) -> int:
    Sheet.objects.filter(period=period).delete()
    with CaptureQueriesContext(connection) as queries:
        services.generate_sheets(period=period)
    return len(queries)


def test_it_generates_in_as_many_queries_for_50_people_as_for_10(rich):
    world, _templates, october = rich
    with scope(organization=world.org):
        _people(world, 5, 0)
        few = _queries_to_generate(october)
        _people(world, 40, 5)
        many = _queries_to_generate(october)
        # 50 people: 150 lines and 200 raters, past one INSERT of bulk_create on SQLite (999 parameters)
        assert SheetLine.objects.filter(sheet__period=october, sheet__subject_kind="person").count() == 150
    assert many == few


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_it_copies_the_new_sheets_lines_and_raters_on_postgresql(rich):
    world, _templates, october = rich
    with scope(organization=world.org):
        Sheet.objects.filter(period=october).delete()
        with CaptureQueriesContext(connection) as queries:
            services.generate_sheets(period=october)
        copied = sorted(q["sql"].split()[1] for q in queries if q["sql"].startswith("COPY"))
        assert written(october) == BEFORE
    assert copied == ['"appraisal_rater"', '"appraisal_sheet"', '"appraisal_sheetline"']
