"""Times the set-based paths at a realistic size: the people import, opening a period (sheet
generation) and the actuals upload, with their query counts.

    .venv/bin/python manage.py benchmark --people 5000

Runs against the configured database inside a transaction that is rolled back, so it leaves
nothing behind. The figures in the README come from this command.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_scopes import scope
from openpyxl import Workbook

from appraisal import actuals, services
from appraisal.models import Period, Sheet, SheetLine
from indicators.services import build_template, create_indicator
from organizations import importing
from organizations import services as org_services

T = TypeVar("T")


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Time the import, sheet generation and actuals upload for N people (rolled back afterwards)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--people", type=int, default=5000)
        parser.add_argument("--departments", type=int, default=50)

    def handle(self, *args: Any, people: int, departments: int, **options: Any) -> None:
        self.rows: list[tuple[str, float, int, str]] = []
        try:
            with transaction.atomic():
                self._run(people, departments)
                raise Rollback
        except Rollback:
            pass
        vendor = connection.vendor
        self.stdout.write(f"\n{people} people, {departments} departments, database: {vendor}\n")
        self.stdout.write(f"{'step':<42}{'seconds':>9}{'queries':>9}  result")
        for step, seconds, queries, result in self.rows:
            self.stdout.write(f"{step:<42}{seconds:>9.2f}{queries:>9}  {result}")

    def _measure(self, step: str, work: Callable[[], T], describe: Callable[[T], str]) -> T:
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            result = work()
            elapsed = time.perf_counter() - started
        self.rows.append((step, elapsed, len(queries), describe(result)))
        return result

    def _run(self, people: int, departments: int) -> None:
        org = org_services.create_organization(name="基准测试", slug="benchmark-run", acting_user=None)
        with scope(organization=org):
            workbook = self._roster(people, departments)
            parsed = self._measure("read roster .xlsx (calamine)", lambda: importing.parse_workbook(workbook),
                                   lambda p: f"{len(p.people.rows) if p.people else 0} rows")
            self._measure("import dry run (validate)",
                          lambda: importing.validate_import(organization=org, parsed=parsed),
                          lambda plan: f"{len(plan.errors)} errors")
            self._measure("import apply (bulk, audited)",
                          lambda: importing.apply_import(organization=org, parsed=parsed, acting_user=None),
                          lambda r: f"{r.summary.people_created} people created")

            create_indicator(organization=org, acting_user=None, code="OUT", name="产量", method="completion",
                             config={"cap_rate": "1.2"})
            create_indicator(organization=org, acting_user=None, code="DISC", name="纪律", method="deduction",
                             config={"items": [{"code": "late", "name": "迟到", "points": "2"}]})
            template = build_template(organization=org, acting_user=None, spec={
                "code": "B", "name": "基准", "subject_kind": "person",
                "parts": [{"code": "p", "name": "业绩", "weight": "1", "lines": [
                    {"indicator": "OUT", "max_points": "80"}, {"indicator": "DISC", "max_points": "20"}]}],
                "raters": [],
            })
            period = services.create_period(organization=org, acting_user=None, kind="monthly", year=2025,
                                            number=10, start_day=26, templates=[template])
            Period.objects.filter(pk=period.pk).update(state=Period.State.OPEN)
            period.refresh_from_db()
            self._measure("open period: generate sheets", lambda: services.generate_sheets(period=period),
                          lambda r: f"{r['sheets']} sheets, {SheetLine.objects.filter(sheet__period=period).count()}"
                                    " lines")
            upload = self._actuals(people)
            rows = actuals.parse_actuals(upload)
            self._measure("actuals upload apply (rescored, audited)",
                          lambda: actuals.apply_actuals(period=period, parsed=rows, acting_user=None),
                          lambda plan: f"{len(plan.changes)} lines changed")
            scored = Sheet.objects.filter(period=period).count()
            self.rows.append(("", 0.0, 0, f"({scored} sheets in the period)"))

    @staticmethod
    def _roster(people: int, departments: int) -> io.BytesIO:
        book = Workbook()
        depts = book.active
        depts.title = importing.DEPARTMENTS_SHEET
        depts.append(["部门编码", "部门名称", "上级部门编码"])
        for d in range(departments):
            depts.append([f"D{d:03d}", f"部门{d}", "" if d < 5 else f"D{d % 5:03d}"])
        roster = book.create_sheet(importing.PEOPLE_SHEET)
        roster.append(["工号", "姓名", "部门编码", "岗位", "基本工资", "入职日期", "直接上级工号"])
        for n in range(people):
            manager = "" if n < departments else f"E{n % departments:05d}"
            roster.append([f"E{n:05d}", f"员工{n}", f"D{n % departments:03d}", "岗位", Decimal("4321.50"),
                           "2020-03-01", manager])
        buffer = io.BytesIO()
        book.save(buffer)
        buffer.seek(0)
        return buffer

    @staticmethod
    def _actuals(people: int) -> io.BytesIO:
        book = Workbook()
        sheet = book.active
        sheet.title = "实际值"
        sheet.append(["对象编码", "指标编码", "实际值", "目标值"])
        for n in range(people):
            sheet.append([f"E{n:05d}", "OUT", 90 + n % 20, 100])
        buffer = io.BytesIO()
        book.save(buffer)
        buffer.seek(0)
        return buffer
