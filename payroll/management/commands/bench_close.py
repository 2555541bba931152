"""End-to-end benchmark of a period close: rescoring, grading with forced distribution, the
pay run and the streamed pay-sheet export, on a synthetic organisation.

    .venv/bin/python manage.py bench_close --employees 100000

The set-up (organisation, people, sheets, scored actuals) is not timed: in real life it is
the month's data entry, which scores each sheet as it goes (the services and the actuals import
keep sheet totals current). ``--stale 0.1`` then changes a tenth of the sheets' data behind the
services' back, so the close has those to rescore; ``--stale 1`` all of them. The timed
steps are what happens when HR closes the period. Prints the seconds and queries of each step,
employees per second end to end, the process's peak memory (RSS, set-up included), and the CPU
seconds the whole machine spent on each step, which over its cores bound how fast any sharing of
the work between processes could be (``_cpu``). Runs
in a transaction that is rolled back unless --keep. The README's figures come from this command
on PostgreSQL.
"""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, TypeVar

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Mod
from django_scopes import scope

from appraisal import services
from appraisal.models import STALE, Period, Result, Sheet, SheetLine
from appraisal.policies import save_grading_policy
from appraisal.services import closing
from core.bulk import update_rows
from indicators.services import build_template, create_indicator
from organizations import services as org_services
from organizations.models import Department, Job, Organization, Person
from organizations.tenancy import BULK_BATCH_SIZE
from payroll import exports
from payroll import services as pay_services
from payroll.management.commands import _cpu, _workers
from payroll.models import PayRun

T = TypeVar("T")

SCALE = {"bands": [
    {"grade": "S", "label": "优秀", "from": "90", "max": "120", "coefficient": "1.2"},
    {"grade": "A", "label": "良好", "from": "80", "coefficient": "1.1"},
    {"grade": "B", "label": "合格", "from": "70", "coefficient": "1.0"},
    {"grade": "C", "label": "待改进", "from": None, "coefficient": "0.8"},
]}
QUOTAS = [{"grade": "S", "op": "<=", "share": "0.05"}, {"grade": "A", "op": "<=", "share": "0.15"},
          {"grade": "B", "op": ">=", "share": "0.70"}, {"grade": "C", "op": "<=", "share": "0.10"}]
# Five components, after S1-9 and S1-10: quota × coefficient by salary band, a fixed allowance
# less a percentage, a score bonus in whole tiers, a formula, and a penalty for low scores.
PAY = [
    {"code": "perf", "name": "绩效工资", "kind": "grade_coefficient",
     "config": {"coefficients": {"S": "1.2", "A": "1.1", "B": "1.0", "C": "0.8"},
                "quota_bands": {"input": "base_salary", "to_inclusive": True,
                                "bands": [{"to": "1500", "quota": "200"}, {"to": "2500", "quota": "400"},
                                          {"to": None, "quota": "600"}]}}},
    {"code": "post", "name": "岗位津贴", "kind": "fixed",
     "config": {"amount": "300", "deductions": [{"label": "待改进", "when": "grade_coefficient < 1",
                                                  "percent": "20"}]}},
    {"code": "bonus", "name": "超额奖", "kind": "tiered",
     "config": {"quantity": "score", "mode": "whole", "tiers": [{"from": "85", "rate": "2"},
                                                                {"from": "95", "rate": "3"}]}},
    {"code": "share", "name": "效益分成", "kind": "formula",
     "config": {"expression": "ROUND(base_salary * 0.02 * grade_coefficient, 2)"}},
    {"code": "late", "name": "考核扣款", "kind": "formula",
     "config": {"expression": "IF(score < 70, -(70 - score) * 5, 0)"}},
]


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Close a synthetic period end to end (grades, distribution, pay, export) and print the figures."

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # What _measure records; other benchmarks build with this command's steps (bench_pages, bench_whatif).
        self.rows: list[tuple[str, float, float | None, int, str]] = []
        self.own_cpu: dict[str, float] = {}  # this process's CPU seconds in each step it ran

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--employees", type=int, default=10000)
        parser.add_argument("--departments", type=int, default=100)
        parser.add_argument("--keep", action="store_true", help="commit instead of rolling back")
        parser.add_argument("--workers", type=int, default=0,
                            help="close and pay on this many Celery workers of their own (PostgreSQL and Redis; "
                                 "the data is committed, in an organisation of its own), instead of in this process")
        parser.add_argument("--part-sheets", type=int, default=None,
                            help="sheets per part of the close on the workers (CLOSE_PART_SHEETS), and people per "
                                 "part of the pay run (PAY_PART_PEOPLE)")
        parser.add_argument("--stale", type=Decimal, default=Decimal("0"),
                            help="share of the sheets (0 to 1) whose data changes after they were scored, "
                                 "so the close rescores them (1: every sheet, as after a bulk write that "
                                 "scores nothing)")

    def handle(self, *args: Any, employees: int, departments: int, keep: bool, stale: Decimal, workers: int,
               part_sheets: int | None, **options: Any) -> None:
        self.workers, self.part_sheets = workers, part_sheets
        self.notes: list[str] = []
        if not 0 <= stale <= 1:
            raise CommandError("--stale is a share between 0 and 1")
        if workers:
            _workers.require_services()
            self._run(employees, departments, stale)  # committed: the workers read it
        else:
            try:
                with transaction.atomic():
                    self._run(employees, departments, stale)
                    if not keep:
                        raise Rollback
            except Rollback:
                pass
        timed = [r for r in self.rows if r[0].startswith("close") or r[0].startswith("pay") or
                 r[0].startswith("export")]
        seconds = sum(r[1] for r in timed)
        cpu = None if any(r[2] is None for r in timed) else sum(r[2] or 0 for r in timed)
        queries = sum(r[3] for r in timed)
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.stdout.write(f"\n{employees} employees, {departments} departments, database: {connection.vendor}\n")
        self.stdout.write(f"{'step':<44}{'seconds':>9}{'cpu s':>8}{'queries':>9}  result")
        for step, elapsed, busy, count, result in self.rows:
            self.stdout.write(f"{step:<44}{elapsed:>9.2f}{'—' if busy is None else f'{busy:.2f}':>8}{count:>9}  "
                              f"{result}")
        self.stdout.write(f"\nend to end (timed steps): {seconds:.2f} s, {queries} queries, "
                          f"{employees / seconds:,.0f} employees/s")
        self.stdout.write(_cpu.bound(cpu, employees))
        if cpu is not None and not workers:
            own = sum(self.own_cpu.get(r[0], 0.0) for r in timed)
            self.stdout.write(f"of which this process {own:.2f} s, the rest (PostgreSQL, the system) {cpu - own:.2f} s")
        self.stdout.write(f"peak memory (RSS, set-up included): {peak_mib:,.0f} MiB")
        for note in self.notes:
            self.stdout.write(note)

    @contextmanager
    def _counting(self) -> Iterator[list[int]]:
        count = [0]

        def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
            count[0] += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(wrapper):
            yield count

    def _measure(self, step: str, work: Callable[[], T], describe: Callable[[T], str]) -> T:
        with self._counting() as count:
            started, busy, own = time.perf_counter(), _cpu.machine_seconds(), time.process_time()
            result = work()
            self._settle()
            elapsed, busy = time.perf_counter() - started, _cpu.since(busy)
        self.own_cpu[step] = time.process_time() - own
        self.rows.append((step, elapsed, busy, count[0], describe(result)))
        return result

    def _run(self, employees: int, departments: int, stale: Decimal) -> None:
        taken = set(Organization.objects.filter(slug__startswith="bench-close").values_list("slug", flat=True))
        slug = next(s for s in (f"bench-close-{n}" if n else "bench-close" for n in range(len(taken) + 1))
                    if s not in taken)  # a run kept with --keep leaves its organisation behind
        org = org_services.create_organization(name="基准测试", slug=slug, acting_user=None)
        with scope(organization=org):
            self._measure("set-up: people", lambda: self._people(org, employees, departments),
                          lambda n: f"{n} people")
            period = self._period(org)  # times its two steps: generating the sheets, then the data entry
            changed = self._measure("set-up: late changes (--stale)", lambda: self._late_changes(period, stale),
                                    lambda n: f"{n} sheets stale")
            if self.workers:
                run = self._on_workers(period, changed)
            else:
                run = self._in_process(period, changed)
            self._measure("export: pay sheet .xlsx (streamed)", lambda: self._export(run), lambda n: f"{n} rows")
            self.notes.append(f"digest of the results and slips: {_workers.digest(period)}")

    def _on_workers(self, period: Period, changed: int) -> Any:
        outcome = _workers.on_workers(self.workers, self.part_sheets, period)
        results = Result.objects.filter(period=period).count()
        run = PayRun.objects.filter(period=period).order_by("-version").first()
        assert run is not None
        self.rows.append((f"close: on {self.workers} worker(s), in parts", outcome["close"], outcome["close_cpu"], 0,
                          f"{changed} stale sheets rescored, {results} results"))
        self.rows.append(("pay run: on the workers", outcome["pay"], outcome["pay_cpu"], 0,
                          f"v{run.version}, {run.people} slips, total {run.total:,}"))
        peaks = ", ".join(f"{peak:,.0f}" for peak in outcome["peaks"])
        self.notes.append(f"peak memory of each worker (RSS): {peaks} MiB; the workers' queries are not counted "
                          "here (0 in the table)")
        self.notes += [outcome["cpu"], "the close and the pay run, from HR's request (s):", *outcome["timeline"]]
        return run

    def _in_process(self, period: Period, changed: int) -> Any:
        job = closing.start_close(period=period, acting_user=None)
        self._measure("close: rescore, grade, distribute, results", lambda: closing.run_close(job=job),
                      lambda r: f"{changed} stale sheets rescored, {r['results']} results; "
                                f"{Result.objects.filter(period=period, needs_calibration=True).count()} "
                                "need calibration (ties, or over the lowest grade's cap)")
        failed = Job.objects.get(pk=job.pk)
        if failed.state != Job.State.DONE:
            raise RuntimeError(failed.message)
        run = self._measure("pay run: compute and write slips",
                            lambda: pay_services.compute_pay_run(period=period, acting_user=None,
                                                                 reason="bench"),
                            lambda r: f"v{r.version}, {r.people} slips, total {r.total:,}" if r else "none")
        assert run is not None
        return run

    @staticmethod
    def _people(org: Any, employees: int, departments: int) -> int:
        depts = [Department(organization=org, code=f"D{d:03d}", name=f"部门{d}") for d in range(departments)]
        Department.objects.bulk_create(depts, batch_size=BULK_BATCH_SIZE)
        depts = list(Department.objects.order_by("code"))
        bands = [Decimal("1400"), Decimal("2200"), Decimal("4321.50")]
        Person.objects.bulk_create(
            (Person(organization=org, employee_no=f"E{n:06d}", name=f"员工{n}", department=depts[n % departments],
                    base_pay=bands[n % 3], bank_account=f"6222{n:012d}") for n in range(employees)),
            batch_size=2000)
        Command._analyze()  # people are imported long before a period closes
        return employees

    def _period(self, org: Any) -> Period:
        create_indicator(organization=org, acting_user=None, code="OUT", name="产量", method="completion",
                         config={"cap_rate": "1.2"})
        template = build_template(organization=org, acting_user=None, spec={
            "code": "B", "name": "基准", "subject_kind": "person",
            "parts": [{"code": "p", "name": "业绩", "weight": "1", "lines": [
                {"indicator": "OUT", "max_points": "100"}]}], "raters": []})
        policy = save_grading_policy(organization=org, acting_user=None, code="G", name="强制分布", scale=SCALE,
                                     quotas=QUOTAS, population="department")
        pay_services.save_pay_policy(organization=org, acting_user=None, code="P", name="绩效工资",
                                     components=PAY, effective_from=Period._meta.get_field("start").to_python(
                                         "2025-01-01"))
        period = services.create_period(organization=org, acting_user=None, kind="monthly", year=2025, number=10,
                                        templates=[template])
        Period.objects.filter(pk=period.pk).update(grading_policy=policy, state=Period.State.OPEN)
        period.refresh_from_db()
        # Opening the period is timed on its own: generation is what HR waits for after "open".
        self._measure("set-up: open period (generate sheets)", lambda: services.generate_sheets(period=period),
                      lambda r: f"{r['created']} sheets, "
                                f"{SheetLine.objects.filter(sheet__period=period).count()} lines")

        def enter_data() -> Period:
            Command._analyze()
            # The month's data entry, set-based: actuals from 60.00 to 100.00 spread over everyone by
            # employee number (4001 is prime, so every department gets distinct values), so that two
            # runs, whatever their ids, close and pay alike (the digest below).
            lines = list(SheetLine.objects.filter(sheet__period=period).values_list("pk", "sheet__person__employee_no"))
            update_rows(SheetLine, ["target", "actual"],
                        ((pk, Decimal("100"), Decimal(60) + Decimal(int(number[1:]) * 7919 % 4001) / 100)
                         for pk, number in lines))
            Command._analyze()
            services.rescore_period(period=period, acting_user=None, reason="data entered")
            Period.objects.filter(pk=period.pk).update(state=Period.State.CALIBRATION)
            period.refresh_from_db()
            Command._analyze()
            return period

        return self._measure("set-up: data entry, scored", enter_data,
                             lambda p: f"{Sheet.objects.filter(period=p).count()} sheets")

    @staticmethod
    def _late_changes(period: Period, stale: Decimal) -> int:
        """Changes the actual of a share of the sheets after they were scored, behind the services'
        back (as a bulk write would), so the triggers mark them stale and the close rescores them."""
        percent = int(stale * 100)
        # 37 is prime to 100: every hundred consecutive sheet ids fall in a hundred distinct buckets.
        if percent:
            SheetLine.objects.filter(sheet__period=period).annotate(bucket=Mod(F("sheet_id") * 37, Value(100))).filter(
                bucket__lt=percent).update(actual=F("actual") + Value(Decimal("0.5")))
            Command._analyze()
        return Sheet.objects.filter(period=period).filter(STALE).count()

    @staticmethod
    def _settle() -> None:
        """The benchmark runs in one transaction it rolls back, so the foreign-key checks that
        PostgreSQL defers to the commit would never run: each step runs them before its clock
        stops, as its own commit would."""
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    @staticmethod
    def _analyze() -> None:
        if connection.vendor == "postgresql":
            # In real life the data entered over the month has been analysed by autovacuum before
            # anyone closes; without this the planner takes the new rows for empty tables.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")

    @staticmethod
    def _export(run: Any) -> int:
        with tempfile.TemporaryFile() as handle:
            return exports.write_xlsx(exports.pay_sheet(run), handle)
