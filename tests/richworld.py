"""Two organisations holding a row of every tenant-owned model, whose ids never meet (for the
isolation fuzz, tests/test_isolation.py).

A is the demo plant (``load_demo``, which also loads the demo hospital); B is the same package
loaded again under another slug, its accounts renamed ``b-…`` — except ``hr``, who is HR admin of
A, of the hospital and of B, like a group HR officer: signed into A, B's objects must still be
404 for them. Each of A and B is then enriched with a closed and published period scored by
hand (lines, ratings, deduction records, special statuses), results, appeals in several states,
pay runs (three versions, one confirmed), a pay input, finished exports of every kind and their
jobs, a roll-up, an edited calendar day and an API token.

Before A is built every table with an integer primary key gets its own range of ids, and again
(higher) before B: table number i starts at ``base + (i + 1) × 10,000,000``. So an id names one
row of one table in the whole database — a request for id n can only be about that row — and no
id of B is an id of anything in A. All ranges stay below 2³¹ (the history tables' ids are 32-bit
integers). On SQLite the counters live in ``sqlite_sequence`` and roll back with the test; on
PostgreSQL ``setval`` ignores transactions, so :class:`IdRanges` puts the sequences back.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection, models
from django.test import TestCase
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from appraisal import appeals, services
from appraisal.models import AcceptanceRound, Appeal, OutcomeDecision, Period, Rater, Result, Sheet, SheetLine
from appraisal.services import closing, window
from indicators.models import Template
from indicators.services import build_template, create_indicator
from organizations import services as org_services
from organizations.models import (
    CalendarDay,
    CalendarYear,
    Department,
    Membership,
    Organization,
    Person,
    ReviewGroup,
    ReviewGroupMember,
    User,
)
from organizations.standing_services import end_standing_parameter, set_standing_parameter
from payroll import exports
from payroll import services as pay_services
from payroll.budgets import save_pay_budget
from payroll.models import PayRun
from payroll.tasks import compute_pay_run_task
from tests.closing import make_policy
from tests.test_pay_runs import pay_policy

SLOT = 10_000_000
A_BASE = 0
B_BASE = 1_000_000_000
MISSING_ID = 2_100_000_000  # above every range: an id that is nobody's
B_SLUG = "iso-b"
ROLES = ("hr", "head", "employee", "finance", "supervisor")

ATT_SCALE = {"unit": "points", "scale": [{"label": "优秀", "points": "100"}, {"label": "良好", "points": "80"},
                                         {"label": "合格", "points": "60"}, {"label": "差", "points": "0"}]}
DISC_ITEMS = {"items": [{"code": "late", "name": "迟到", "points": "10"},
                        {"code": "absent", "name": "旷工", "points": "20"}]}


def id_models() -> list[type[models.Model]]:
    """Every model whose primary key is an integer the database counts, in a fixed order."""
    found = [m for m in apps.get_models() if isinstance(m._meta.pk, models.AutoField | models.BigAutoField)]
    return sorted(found, key=lambda m: m._meta.label)


def tenant_models() -> list[type[models.Model]]:
    """Every model with an ``organization`` foreign key: the tenant-owned rows and their history."""
    found = []
    for model in apps.get_models():
        try:
            org_field = model._meta.get_field("organization")
        except FieldDoesNotExist:
            continue
        if org_field.many_to_one and org_field.related_model is Organization:
            found.append(model)
    return sorted(found, key=lambda m: m._meta.label)


class IdRanges:
    """Moves every id counter to its table's range above ``base``; ``restore`` puts them back."""

    def __init__(self) -> None:
        self._saved: dict[str, tuple[int, bool]] = {}

    def _sequence(self, model: type[models.Model]) -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)",
                           [connection.ops.quote_name(model._meta.db_table), model._meta.pk.column])
            return str(cursor.fetchone()[0])

    def move_to(self, base: int) -> None:
        for index, model in enumerate(id_models()):
            start = base + (index + 1) * SLOT
            table = model._meta.db_table
            with connection.cursor() as cursor:
                if connection.vendor == "sqlite":
                    cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [start, table])
                    if cursor.rowcount == 0:
                        cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, start])
                elif connection.vendor == "postgresql":
                    sequence = self._sequence(model)
                    if sequence not in self._saved:
                        cursor.execute(f"SELECT last_value, is_called FROM {sequence}")
                        last, called = cursor.fetchone()
                        self._saved[sequence] = (int(last), bool(called))
                    cursor.execute("SELECT setval(%s, %s, true)", [sequence, start])
                else:
                    raise NotImplementedError(connection.vendor)

    def restore(self) -> None:
        with connection.cursor() as cursor:
            for sequence, (last, called) in self._saved.items():
                cursor.execute("SELECT setval(%s, %s, %s)", [sequence, last, called])
        self._saved.clear()


@contextmanager
def committed() -> Iterator[None]:
    """Runs what the block sends after commit (tasks, signals) when the block ends, as production
    would after its transaction; the test's own transaction never commits."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        yield


@dataclass
class RichWorld:
    a: Organization
    b: Organization
    users: dict[str, User]  # A's role → user (hr is also HR admin of B)
    probe: User  # every role of A at once: HR, finance, head of every top department, every group
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # model label → rows in (A, B)


def build(ranges: IdRanges) -> RichWorld:
    ranges.move_to(A_BASE)
    with committed():
        call_command("load_demo", stdout=io.StringIO())
    a = Organization.objects.get(slug="demo-plant")
    enrich(a)
    probe = _probe(a)
    ranges.move_to(B_BASE)
    b = _load_copy()
    enrich(b)
    # Read after B is loaded: loading B's package reset hr's password, and a session signed in
    # with the old one would be signed out at its first request.
    users = {role: User.objects.get(username=role) for role in ROLES}
    world = RichWorld(a, b, users, User.objects.get(pk=probe.pk))
    with scopes_disabled():
        for model in tenant_models():
            rows = model._base_manager.filter(organization__in=[a, b]).values_list("organization_id")
            per = [org for (org,) in rows]
            world.counts[model._meta.label] = (per.count(a.pk), per.count(b.pk))
    return world


def _load_copy() -> Organization:
    """B: the plant's package under another slug, through the same command."""
    from organizations.management.commands import load_demo

    data = json.loads((load_demo.DEMO_DIR / "plant.json").read_text(encoding="utf-8"))
    data["organization"] = {"slug": B_SLUG, "name": "隔离测试乙厂"}
    for account in data["accounts"]:
        if account["username"] != "hr":
            account["username"] = "b-" + account["username"]
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "plant.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        with mock.patch.object(load_demo, "DEMO_DIR", Path(folder)), committed():
            call_command("load_demo", stdout=io.StringIO())
    return Organization.objects.get(slug=B_SLUG)


def _probe(org: Organization) -> User:
    user = User.objects.create_user(username="iso-probe", password="pw-iso-probe")
    with scope(organization=org):
        tops = list(Department.objects.filter(parent__isnull=True))
        membership = org_services.create_membership(organization=org, acting_user=None, user=user, is_hr_admin=True,
                                                    is_finance=True, headed_departments=tops)
        for group in ReviewGroup.objects.all():
            org_services.add_group_member(group=group, membership=membership, acting_user=None)
    return user


# --- the enrichment: one organisation's closed, published and paid period ------------------------


def enrich(org: Organization) -> None:
    _seed_this_year(org)
    template = _template(org)
    with scope(organization=org):
        group = ReviewGroup.objects.get(code="SUP")
    policy = make_policy(org, code="ISO", quotas=[{"grade": "A", "op": "<=", "share": "0.5"}], appeal_group=group)
    # The demo package brings its own policy for every period kind; this one is the monthly one.
    pay_policy(org, period_kind="monthly")
    period = _scored_period(org, template, policy)
    with committed(), scope(organization=org):
        closing.run_close(job=closing.start_close(period=period, acting_user=None))
    with scope(organization=org):
        run = PayRun.objects.get(period=period)
        pay_services.confirm_pay_run(run=run, acting_user=None)
        window.publish(period=Period.objects.get(pk=period.pk), acting_user=None)
    _appeals(org, period)
    _pay(org, period)
    _odds_and_ends(org, period)


def _seed_this_year(org: Organization) -> None:
    """Publication needs the calendar of the year the window runs in."""
    year = dt.date.today().year
    with scope(organization=org):
        if not CalendarYear.objects.filter(year=year).exists():
            org_services.seed_calendar_year(organization=org, year=year, acting_user=None)


def _template(org: Organization) -> Template:
    with scope(organization=org):
        create_indicator(organization=org, acting_user=None, code="ISO-WORK", name="工作业绩", method="completion",
                         config={"cap_rate": "1.2"})
        create_indicator(organization=org, acting_user=None, code="ISO-DISC", name="劳动纪律", method="deduction",
                         config=DISC_ITEMS)
        create_indicator(organization=org, acting_user=None, code="ISO-ATT", name="工作态度", method="rating",
                         config=ATT_SCALE)
        return build_template(organization=org, acting_user=None, spec={
            "code": "ISO", "name": "隔离测试考核", "subject_kind": "person",
            "parts": [
                {"code": "perf", "name": "业绩", "weight": "0.6",
                 "lines": [{"indicator": "ISO-WORK", "max_points": "100"}]},
                {"code": "disc", "name": "纪律", "weight": "0.2",
                 "lines": [{"indicator": "ISO-DISC", "max_points": "100"}]},
                {"code": "att", "name": "态度", "weight": "0.2",
                 "lines": [{"indicator": "ISO-ATT", "max_points": "100", "source": "raters"}]},
            ],
            "raters": [{"role": "supervisor", "weight": "1"}],
        })


def _people(org: Organization) -> dict[str, Person]:
    """The demo's employee (D0009), a colleague in the same shift (D0010) and the head (D0004)."""
    with scope(organization=org):
        return {key: Person.objects.get(employee_no=no) for key, no in
                [("employee", "D0009"), ("colleague", "D0010"), ("head", "D0004")]}


def _scored_period(org: Organization, template: Template, policy: Any) -> Period:
    people = _people(org)
    assessed = [people["employee"], people["colleague"]]
    with scope(organization=org):
        Person.objects.filter(pk__in=[p.pk for p in assessed]).update(manager=people["head"])
        period = services.create_period(organization=org, acting_user=None, kind="monthly", year=2025, number=10,
                                        templates=[template], grading_policy=policy)
        services.transition(period=period, to="open", acting_user=None)
        services.generate_sheets(period=Period.objects.get(pk=period.pk))
        for sheet in Sheet.objects.filter(period=period).exclude(person__in=assessed)[:3]:
            services.set_special_status(sheet=sheet, status="exempt", reason="不参加本次考核", acting_user=None)
        Sheet.objects.filter(period=period).exclude(person__in=assessed).update(special_status="exempt",
                                                                                special_reason="不参加本次考核")
        services.transition(period=period, to="scoring", acting_user=None)
        _enter(Sheet.objects.get(period=period, person=people["employee"]), "70", 1, "合格")
        _enter(Sheet.objects.get(period=period, person=people["colleague"]), "85", 0, "良好")
        services.transition(period=period, to="calibration", acting_user=None)
        return Period.objects.get(pk=period.pk)


def _enter(sheet: Sheet, actual: str, lates: int, rating: str) -> None:
    lines = {line.indicator.code: line for line in SheetLine.objects.filter(sheet=sheet).select_related(
        "indicator", "sheet__period")}
    work = lines["ISO-WORK"]
    services.update_line(line_id=work.pk, expected_version=work.version, acting_user=None,
                         target=Decimal("100"), actual=Decimal(actual))
    for day in range(lates):
        services.record_deduction(line=lines["ISO-DISC"], acting_user=None, item_code="late", count=1,
                                  occurred_on=sheet.period.start + dt.timedelta(days=day), evidence="考勤记录")
    rater = Rater.objects.get(sheet=sheet, role="supervisor")
    services.rate_line(line=lines["ISO-ATT"], rater=rater, acting_user=None, rating=rating)


def _appeals(org: Organization, period: Period) -> None:
    """The employee's appeal against the grade, upheld (a new pay-run version follows); a second
    one against a line, with an attachment, forwarded; the colleague's against a line, waiting for
    the supervisor."""
    people = _people(org)
    with scope(organization=org):
        mine = Result.objects.get(period=period, person=people["employee"])
        theirs = Result.objects.get(period=period, person=people["colleague"])
        first = appeals.file_appeal(result=mine, acting_user=None, filed_by=people["employee"], reason="分数有误")
        appeals.forward_appeal(appeal=first, acting_user=None, opinion="情况属实")
    with committed(), scope(organization=org):
        appeals.decide_appeal(appeal=Appeal.objects.get(pk=first.pk), acting_user=None, upheld=True,
                              reason="复核属实", new_score=Decimal("78"))
    with scope(organization=org):
        line = SheetLine.objects.get(sheet=mine.sheet, indicator__code="ISO-WORK")
        second = appeals.file_appeal(result=Result.objects.get(pk=mine.pk), acting_user=None,
                                     filed_by=people["employee"], reason="产量统计漏报", line=line,
                                     attachment=SimpleUploadedFile("产量报表.txt", "十月产量 1,234 吨".encode()))
        appeals.forward_appeal(appeal=second, acting_user=None, opinion="建议复核")
        their_line = SheetLine.objects.get(sheet=theirs.sheet, indicator__code="ISO-WORK")
        appeals.file_appeal(result=theirs, acting_user=None, filed_by=people["colleague"], reason="请复核",
                            line=their_line)


def _pay(org: Organization, period: Period) -> None:
    people = _people(org)
    with scope(organization=org):
        pay_services.save_pay_input(organization=org, acting_user=None, period=period, name="base_salary",
                                    person=people["employee"], value=Decimal("2400"))
        # A budget far above the pay, so that the runs below are not held back by it.
        save_pay_budget(organization=org, acting_user=None, period=period, amount=Decimal("1000000"),
                        department=Department.objects.filter(parent__isnull=True).order_by("code")[0])
    compute_pay_run_task.apply(kwargs={"organization_id": org.pk, "period_id": period.pk, "reason": "迟到的数据"})
    with scope(organization=org):
        latest = PayRun.objects.filter(period=period).order_by("-version").first()
        assert latest is not None and latest.version >= 2, "the rich world wants several pay-run versions"
        for kind, fmt in [("pay_sheet", "xlsx"), ("delta", "csv"), ("bank", "xlsx")]:
            job = exports.start_export(run=latest, kind=kind, fmt=fmt, acting_user=None)
            exports.run_export(job=job)


def _odds_and_ends(org: Organization, period: Period) -> None:
    with scope(organization=org):
        quarter = services.create_period(organization=org, acting_user=None, kind="quarterly", year=2025, number=4,
                                         templates=[])
        services.set_rollup(parent=quarter, children={period: Decimal("1")}, acting_user=None)
        services.set_rollup_share(organization=org, template_code="YEAR-END", share=Decimal("0.2"), acting_user=None)
        day = CalendarDay.objects.order_by("date").first()
        assert day is not None
        day.name = (day.name + "（厂休）")[:50]
        day.save()
        membership = Membership.objects.get(user__username__in=["hr"])
        org_services.create_api_token(membership=membership, name="iso", acting_user=None)
        _standing(org, period)
        assert ReviewGroupMember.objects.exists()
        # Rows the services write only in schemes this world does not run (acceptance rounds of a
        # pass/fail line, HR's answer to a rule's outcome): written directly, so the fuzz reaches them.
        result = Result.objects.filter(period=period).select_related("sheet").order_by("pk").first()
        assert result is not None and result.person_id is not None
        line = SheetLine.objects.filter(sheet=result.sheet).order_by("pk").first()
        assert line is not None
        AcceptanceRound.objects.create(organization=org, line=line, number=1, passed=False, reason="资料不全",
                                       inspected_on=period.end)
        OutcomeDecision.objects.create(organization=org, result=result, person_id=result.person_id, rule="R1",
                                       outcome="unfit", state="declined", reason="情况特殊",
                                       decided_at=timezone.now())
        # What a part of a close stages until its last step (appraisal.services.close_parts).
        from appraisal.models import StagedResult
        from organizations.models import Job

        close = Job.objects.filter(kind=Job.Kind.CLOSE_PERIOD).order_by("pk").first()
        assert close is not None
        StagedResult.objects.create(organization=org, job=close, chunk=0, period=period, sheet=result.sheet,
                                    values=[])
        # And what a part of a pay computation stages (payroll.pay_parts).
        from payroll.models import StagedSlip

        person = Person.objects.get(pk=result.person_id)
        StagedSlip.objects.create(organization=org, job=close, chunk=0, person=person,
                                  department_id=person.department_id, total=Decimal("0.00"), lines=[])
    _notifications(org, period)


def _standing(org: Organization, period: Period) -> None:
    """Standing parameters of a person and of a department, one ended (organizations.standing)."""
    person = Person.objects.order_by("employee_no").first()
    department = Department.objects.order_by("code").first()
    assert person is not None and department is not None
    set_standing_parameter(organization=org, acting_user=None, name="skill", value=Decimal("1.2"),
                           effective_from=period.start, person=person)
    ended = set_standing_parameter(organization=org, acting_user=None, name="business", value=Decimal("1.1"),
                                   effective_from=period.start, department=department)
    end_standing_parameter(parameter=ended, acting_user=None, effective_to=period.end)


def _notifications(org: Organization, period: Period) -> None:
    """Notifications of every kind of row (issue #18): publication notices, a job failure told to HR
    with one failed delivery, a group robot, an HR default and a member's own channel choice."""
    from organizations.models import Job
    from organizations.notifications import actions
    from organizations.notifications.models import Delivery
    from organizations.notifications.service import notify

    with scope(organization=org):
        notify(kind="results_published", subject=period, acting_user=None)
        job = Job.objects.order_by("pk").first()
        assert job is not None
        notify(kind="job_failed", subject=job, acting_user=None)
        Delivery.objects.filter(channel="email").update(state="failed", error="SMTP 550")
        actions.add_robot(organization=org, acting_user=None, kind="wecom", name="全厂群", key="iso-robot-key")
        hr = Membership.objects.get(user__username__in=["hr"])
        for membership in (None, hr):
            actions.set_choices(organization=org, membership=membership, acting_user=None,
                                wanted={("job_failed", "wecom"): True})
