"""Benchmark of the what-if (payroll.whatif): a closed period of a synthetic organisation regraded
by a candidate grading policy and repaid by a candidate pay policy, in memory.

    .venv/bin/python manage.py bench_whatif --employees 10000

The set-up is bench_close's (its people, period, scored sheets, grading and pay policies) and its
close, not timed; then two candidates are saved (other quotas and bands; other coefficients, in
force only from 2030, so not in use) and the what-if is timed with both, with each alone and with
neither, and the .xlsx download written. Runs in a transaction that is rolled back unless --keep.
"""

from __future__ import annotations

import datetime as dt
import functools
import tempfile
from typing import Any

from django.core.management.base import CommandParser
from django.db import connection, transaction
from django_scopes import scope

from appraisal.models import GradingPolicy, Period
from appraisal.policies import save_grading_policy
from appraisal.services import closing
from organizations import services as org_services
from organizations.models import Job, Organization
from payroll import services as pay_services
from payroll.exports import write_xlsx
from payroll.management.commands import bench_close
from payroll.models import PayPolicy
from payroll.whatif import WhatIf, export, what_if

_BANDS: list[dict[str, Any]] = bench_close.SCALE["bands"]  # type: ignore[assignment]
CANDIDATE_SCALE = {"bands": [{**band, "from": "82"} if band["grade"] == "A" else band for band in _BANDS]}
CANDIDATE_QUOTAS = [{"grade": "S", "op": "<=", "share": "0.10"}, {"grade": "A", "op": "<=", "share": "0.20"},
                    {"grade": "B", "op": ">=", "share": "0.60"}, {"grade": "C", "op": "<=", "share": "0.10"}]
CANDIDATE_PAY: list[dict[str, Any]] = [
    {**c, "config": {**c["config"], "coefficients": {"S": "1.3", "A": "1.15", "B": "1.0", "C": "0.7"}}}  # type: ignore[dict-item]
    if c["code"] == "perf" else c for c in bench_close.PAY]


class Command(bench_close.Command):
    help = "Time the what-if of a closed synthetic period under candidate grading and pay policies."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--employees", type=int, default=10000)
        parser.add_argument("--departments", type=int, default=100)
        parser.add_argument("--keep", action="store_true", help="commit instead of rolling back")

    def handle(self, *args: Any, employees: int, departments: int, keep: bool, **options: Any) -> None:
        try:
            with transaction.atomic():
                self._what_ifs(employees, departments)
                if not keep:
                    raise bench_close.Rollback
        except bench_close.Rollback:
            pass
        self.stdout.write(f"\n{employees} employees, {departments} departments, database: {connection.vendor}\n")
        self.stdout.write(f"{'step':<48}{'seconds':>9}{'queries':>9}  result")
        for step, elapsed, _cpu, count, result in self.rows:
            self.stdout.write(f"{step:<48}{elapsed:>9.2f}{count:>9}  {result}")

    def _what_ifs(self, employees: int, departments: int) -> None:
        taken = set(Organization.objects.filter(slug__startswith="bench-whatif").values_list("slug", flat=True))
        slug = next(s for s in (f"bench-whatif-{n}" if n else "bench-whatif" for n in range(len(taken) + 1))
                    if s not in taken)
        org = org_services.create_organization(name="测算基准", slug=slug, acting_user=None)
        with scope(organization=org):
            self._measure("set-up: people", lambda: self._people(org, employees, departments),
                          lambda n: f"{n} people")
            period = self._measure("set-up: period, scored sheets", lambda: self._period(org), lambda p: p.code)
            job = closing.start_close(period=period, acting_user=None)
            self._measure("set-up: close", lambda: closing.run_close(job=job), lambda r: f"{r['results']} results")
            if Job.objects.get(pk=job.pk).state != Job.State.DONE:
                raise RuntimeError(Job.objects.get(pk=job.pk).message)
            grading, pay = self._candidates(org)
            self._analyze()
            period = Period.objects.select_related("grading_policy").get(pk=period.pk)
            candidates: list[tuple[str, GradingPolicy | None, PayPolicy | None]] = [
                ("what-if: grading and pay candidates", grading, pay), ("what-if: grading candidate", grading, None),
                ("what-if: pay candidate", None, pay), ("what-if: nothing changed", None, None)]
            for step, draft, paid in candidates:
                result = self._measure(step, functools.partial(what_if, period, grading_policy=draft, pay_policy=paid),
                                       _describe)
            self._measure("what-if: .xlsx of the last one", lambda: self._xlsx(result), lambda n: f"{n} rows")

    @staticmethod
    def _candidates(org: Any) -> tuple[GradingPolicy, PayPolicy]:
        grading = save_grading_policy(organization=org, acting_user=None, code="G2", name="候选：放宽良好",
                                      scale=CANDIDATE_SCALE, quotas=CANDIDATE_QUOTAS, population="department")
        pay = pay_services.save_pay_policy(organization=org, acting_user=None, code="P", name="候选：拉大系数",
                                           components=CANDIDATE_PAY, effective_from=dt.date(2030, 1, 1))
        return grading, pay

    @staticmethod
    def _xlsx(result: WhatIf) -> int:
        with tempfile.TemporaryFile() as handle:
            return write_xlsx(export(result), handle)


def _describe(result: WhatIf) -> str:
    return (f"{len(result.people)} people, {result.moved} change grade, cost {result.before:,} → {result.after:,} "
            f"({result.change:+,})")
