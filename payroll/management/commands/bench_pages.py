"""Load benchmark of the busiest pages: signs in as HR, heads and employees of a generated
organisation and drives their pages over HTTP against a running server, then prints p50/p95 and
errors per page.

    manage.py bench_pages --build --people 10000 --departments 100      # once: the organisation
    manage.py bench_pages --users 1,50 --duration 30 --url http://127.0.0.1:8000

``bin/bench-pages`` does both on PostgreSQL with gunicorn (3 workers). ``--build`` makes (and
commits) the organisation ``bench-pages``: the people, a published period with results and a
confirmed pay run (results, the period page, my results, my slips, the pay run) and an open period
with a sheet for everyone (the sheet list, a sheet, a line save: 20,000 sheets at 10,000 people).
Every account's password is ``--password``. The run reads who to sign in as and which ids to
open from the same database (DATABASE_URL), so run both with the server's settings.

The client is our own (stdlib http.client, one keep-alive connection and cookie jar per virtual
user, one thread each): each user signs in before the clock starts, then requests its role's pages
in turn, ``--think`` seconds apart, until ``--duration`` is over. The users' mix: one in ten is HR,
three in ten heads, the rest employees (``--roles`` chooses others). It lives in payroll, the top
floor, because it builds pay runs and drives every app's pages.
"""

from __future__ import annotations

import http.client
import random
import re
import statistics
import threading
import time
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django_scopes import scope, scopes_disabled

from appraisal import services
from appraisal.models import Period, Result, Sheet, SheetLine
from appraisal.services import closing
from organizations import services as org_services
from organizations.models import DepartmentHead, Membership, Organization, Person, User
from payroll import services as pay_services
from payroll.management.commands.bench_close import Command as BenchClose
from payroll.models import PayRun

SLUG = "bench-pages"
PASSWORD = "bench-pages-2026"
LINE = re.compile(r'id="line-(\d+)" data-version="(\d+)"')


class Command(BaseCommand):
    help = "Build a synthetic organisation (--build) and/or drive its pages over HTTP, printing p50/p95 per page."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--build", action="store_true", help="make the organisation (skipped when it exists)")
        parser.add_argument("--people", type=int, default=10000)
        parser.add_argument("--departments", type=int, default=100)
        parser.add_argument("--password", default=PASSWORD)
        parser.add_argument("--url", default="", help="the running server, e.g. http://127.0.0.1:8000")
        parser.add_argument("--users", default="1,50", help="concurrent users per stage, e.g. 1,10,50")
        parser.add_argument("--duration", type=float, default=30.0, help="seconds per stage")
        parser.add_argument("--think", type=float, default=0.0, help="seconds a user waits between requests")
        parser.add_argument("--think-max", type=float, default=None,
                            help="wait a random time between --think and this (as locust's between(a, b))")
        parser.add_argument("--ramp", type=float, default=5.0,
                            help="seconds over which the users start, evenly; their requests then are not counted")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--roles", default="", help="the roles users take in turn, e.g. head,employee "
                                                        "(default: one in ten HR, three heads, six employees)")

    def handle(self, *args: Any, build: bool, people: int, departments: int, password: str, url: str, users: str,
               duration: float, think: float, think_max: float | None, ramp: float, seed: int, roles: str,
               **options: Any) -> None:
        if build:
            self.stdout.write(build_organisation(people, departments, password))
        if not url:
            if not build:
                raise CommandError("Give --url to drive a server, --build to make the organisation, or both.")
            return
        try:
            stages = [int(n) for n in users.split(",") if n.strip()]
        except ValueError:
            raise CommandError("--users is a list of numbers: 1,10,50") from None
        if not stages or min(stages) < 1:
            raise CommandError("--users is a list of numbers of at least 1")
        turns = [role.strip() for role in roles.split(",") if role.strip()] or MIX
        if set(turns) - ROLE_PAGES.keys():
            raise CommandError(f"--roles takes {', '.join(ROLE_PAGES)}")
        plan = load_plan(password)
        rng = random.Random(seed)
        for count in stages:
            pace = Pace(think, think if think_max is None else max(think, think_max), max(0.0, ramp))
            stats = run_stage(url, plan, [turns[i % len(turns)] for i in range(count)], duration, pace, rng)
            self.stdout.write(report(count, duration, stats))
        self.stdout.flush()


# --- the organisation ---------------------------------------------------------------------------


def build_organisation(people: int, departments: int, password: str) -> str:
    """``bench-pages`` with its accounts, a published period with pay and an open period (committed)."""
    if Organization.objects.filter(slug=SLUG).exists():
        return f"organisation {SLUG} exists: not built again\n"
    started = time.perf_counter()
    with transaction.atomic():
        org = org_services.create_organization(name="页面基准", slug=SLUG, acting_user=None)
        with scope(organization=org):
            BenchClose._people(org, people, departments)
            builder = BenchClose()  # it times its set-up steps
            published = builder._period(org)
            job = closing.start_close(period=published, acting_user=None)
            closing.run_close(job=job)
            run = pay_services.compute_pay_run(period=published, acting_user=None, reason="bench")
            if run is not None:
                PayRun.objects.filter(pk=run.pk).update(state=PayRun.State.CONFIRMED)
            # Published without the review window's machinery (calendar, notices): the pages only read it.
            Period.objects.filter(pk=published.pk).update(state=Period.State.PUBLISHED)
            _open_period(org, published)
            _accounts(org, password)
            BenchClose._analyze()
    return (f"organisation {SLUG}: {people} people, {departments} departments, "
            f"{Sheet._base_manager.filter(organization__slug=SLUG).count()} sheets, built in "
            f"{time.perf_counter() - started:.1f} s\n")


def _open_period(org: Organization, published: Period) -> Period:
    """The next month, open, with a sheet for everyone and half of the actuals entered."""
    period = services.create_period(organization=org, acting_user=None, kind="monthly", year=2025, number=11,
                                    templates=list(published.templates.all()))
    Period.objects.filter(pk=period.pk).update(grading_policy=published.grading_policy, state=Period.State.OPEN)
    period.refresh_from_db()
    services.generate_sheets(period=period)
    lines = SheetLine.objects.filter(sheet__period=period)
    lines.update(target=100)
    lines.filter(sheet_id__in=Sheet.objects.filter(period=period, person__employee_no__endswith="0").values("pk")) \
        .update(actual=90)
    return period


def _accounts(org: Organization, password: str) -> None:
    """bench-hr (HR and finance), a head per department (its first person), a user per person."""
    hashed = make_password(password)
    hr = User.objects.create(username="bench-hr", password=hashed)
    Membership.objects.create(organization=org, user=hr, is_hr_admin=True, is_finance=True)
    people = list(Person.objects.order_by("pk").values_list("pk", "employee_no", "department_id"))
    User.objects.bulk_create([User(username=f"bench-{number}", password=hashed) for _pk, number, _d in people],
                             batch_size=2000)
    users = dict(User.objects.filter(username__startswith="bench-E").values_list("username", "pk"))
    Membership.objects.bulk_create([Membership(organization=org, user_id=users[f"bench-{number}"], person_id=pk)
                                    for pk, number, _d in people], batch_size=2000)
    memberships = dict(Membership.objects.filter(person__isnull=False).values_list("person_id", "pk"))
    first: dict[int, int] = {}
    for pk, _number, department_id in people:
        first.setdefault(department_id, pk)
    DepartmentHead.objects.bulk_create([DepartmentHead(organization=org, membership_id=memberships[person_id],
                                                       department_id=department_id)
                                        for department_id, person_id in first.items()])


# --- what to request ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Who signs in and which ids their pages open, read from the database before the run."""

    password: str
    hr: str
    heads: list[tuple[str, list[int]]]  # username, sheet ids of their department in the open period
    employees: list[str]
    open_period: int
    published_period: int
    run: int | None
    sheet_pages: int
    result_pages: int


def load_plan(password: str) -> Plan:
    with scopes_disabled():
        org = Organization.objects.filter(slug=SLUG).first()
        if org is None:
            raise CommandError(f"No organisation {SLUG}: run with --build first.")
        periods = Period.objects.filter(organization=org)
        open_period = periods.filter(state=Period.State.OPEN).order_by("-start").first()
        published = periods.filter(state=Period.State.PUBLISHED).order_by("-start").first()
        if open_period is None or published is None:
            raise CommandError(f"{SLUG} lacks its open or its published period: build it again.")
        run = PayRun.objects.filter(period=published).order_by("-version").values_list("pk", flat=True).first()
        heads = []
        for username, department_id, person_id in DepartmentHead.objects.filter(organization=org).values_list(
                "membership__user__username", "department_id", "membership__person_id").order_by("department__code"):
            sheets = list(Sheet.objects.filter(period=open_period, person__department_id=department_id)
                          .exclude(person_id=person_id).order_by("pk").values_list("pk", flat=True)[:20])
            heads.append((username, sheets))
        headed = {name for name, _sheets in heads}
        employees = [name for name in Membership.objects.filter(organization=org, person__isnull=False)
                     .order_by("person__employee_no").values_list("user__username", flat=True)[:2000]
                     if name not in headed]
        pages = max(1, Sheet.objects.filter(period=open_period).count() // 50)
        results = max(1, Result.objects.filter(period=published).count() // 100)  # the API's page size
    return Plan(password, "bench-hr", heads, employees, open_period.pk, published.pk, run, pages, results)


# --- the client ---------------------------------------------------------------------------------


class Browser:
    """One user's keep-alive connection and cookies; requests return (status, body)."""

    def __init__(self, base: str) -> None:
        parts = urllib.parse.urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def request(self, method: str, path: str, data: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, str]:
        sent = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), "Accept-Language": "zh-hans",
                **(headers or {})}
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            sent["X-CSRFToken"] = self.cookies.get("csrftoken", "")
            sent["Referer"] = f"http://{self.host}:{self.port}{path}"
        for attempt in (1, 2):  # a connection the server closed between requests is opened again once
            try:
                self.connection.request(method, path, body=body, headers=sent)
                response = self.connection.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (http.client.HTTPException, OSError):
                self.connection.close()
                if attempt == 2:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie: SimpleCookie = SimpleCookie()
            cookie.load(header)
            self.cookies.update({name: morsel.value for name, morsel in cookie.items()})
        return response.status, text

    def sign_in(self, username: str, password: str) -> None:
        self.request("GET", "/login/")
        status, _text = self.request("POST", "/login/", {"username": username, "password": password,
                                                         "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")})
        if status != 302:
            raise CommandError(f"{username} could not sign in (HTTP {status}).")


@dataclass
class VirtualUser:
    """A virtual user: its browser, role and the pages it turns through."""

    browser: Browser
    role: str
    pages: list[str]
    sheets: list[int] = field(default_factory=list)
    versions: dict[int, int] = field(default_factory=dict)
    turn: int = 0


ROLE_PAGES = {
    "hr": ["sheet list", "period page", "results (API)", "pay run", "sheet list p100"],
    "head": ["sheet list", "a sheet", "line save"],
    "employee": ["my results", "my slips", "slips (API)"],
}


# Who the users are, in turn: one in ten HR, three heads, six employees.
MIX = ["hr", "head", "head", "head", "employee", "employee", "employee", "employee", "employee", "employee"]


def make_users(base: str, plan: Plan, roles: list[str]) -> list[VirtualUser]:
    users = []
    for index, role in enumerate(roles):
        browser = Browser(base)
        sheets: list[int] = []
        if role == "hr":
            username = plan.hr
        elif role == "head":
            username, sheets = plan.heads[index % len(plan.heads)]
        else:
            username = plan.employees[index % len(plan.employees)]
        browser.sign_in(username, plan.password)
        users.append(VirtualUser(browser, role, ROLE_PAGES[role], sheets))
    return users


def visit(user: VirtualUser, page: str, plan: Plan, rng: random.Random) -> tuple[int, str]:
    """One request of ``page``; the line save first reads its line's version from the sheet."""
    get = user.browser.request
    if page == "sheet list":
        return get("GET", f"/sheets/?period={plan.open_period}&page={rng.randint(1, min(10, plan.sheet_pages))}")
    if page == "sheet list p100":
        return get("GET", f"/sheets/?period={plan.open_period}&page={min(100, plan.sheet_pages)}")
    if page == "period page":
        return get("GET", f"/periods/{plan.published_period}/")
    if page == "results (API)":
        page_number = rng.randint(1, min(20, plan.result_pages))
        return get("GET", f"/api/results/?period={plan.published_period}&page={page_number}")
    if page == "pay run":
        return get("GET", f"/pay/runs/{plan.run}/") if plan.run else (200, "")
    if page == "my results":
        return get("GET", "/results/mine/")
    if page == "my slips":
        return get("GET", "/pay/mine/")
    if page == "slips (API)":
        return get("GET", "/api/pay-slips/")
    sheet = user.sheets[rng.randrange(len(user.sheets))] if user.sheets else 0
    if page == "a sheet":
        status, text = get("GET", f"/sheets/{sheet}/")
        user.versions.update({int(line): int(version) for line, version in LINE.findall(text)})
        return status, text
    if not user.versions:
        visit(user, "a sheet", plan, rng)
    line = rng.choice(sorted(user.versions))
    status, text = get("POST", f"/sheets/lines/{line}/", {"actual": str(rng.randint(60, 100)),
                                                          "version": str(user.versions[line])},
                       {"HX-Request": "true"})
    user.versions.update({int(found): int(version) for found, version in LINE.findall(text)})
    return status, text


@dataclass(frozen=True)
class Pace:
    """How users follow one another: a think time between ``think`` and ``think_max`` seconds
    (drawn anew each time, so users do not fall into step), and ``ramp`` seconds over which they
    start, as locust's spawn rate. Fifty users signed in at once and firing their first request
    in the same millisecond measure a queue no real morning makes: that burst was most of the p95s."""

    think: float
    think_max: float
    ramp: float

    def wait(self, rng: random.Random) -> float:
        return rng.uniform(self.think, self.think_max) if self.think_max > self.think else self.think


def run_stage(base: str, plan: Plan, roles: list[str], duration: float, pace: Pace,
              rng: random.Random) -> dict[str, list[float | None]]:
    """A user per role for ``duration`` seconds after the ramp: each page's latencies in ms (None:
    an error). Requests sent during the ramp are not counted."""
    users = make_users(base, plan, roles)
    stats: dict[str, list[float | None]] = defaultdict(list)
    lock = threading.Lock()
    begun = time.perf_counter()
    counted_from = begun + pace.ramp
    deadline = counted_from + duration

    def work(user: VirtualUser, seed: int, start: float) -> None:
        mine = random.Random(seed)
        time.sleep(max(0.0, start - time.perf_counter()))
        while time.perf_counter() < deadline:
            page = user.pages[user.turn % len(user.pages)]
            user.turn += 1
            started = time.perf_counter()
            try:
                status, _text = visit(user, page, plan, mine)
                elapsed: float | None = (time.perf_counter() - started) * 1000 if status == 200 else None
            except (OSError, http.client.HTTPException):
                elapsed = None
            if started >= counted_from:
                with lock:
                    stats[page].append(elapsed)
            time.sleep(pace.wait(mine))

    step = pace.ramp / len(users)
    threads = [threading.Thread(target=work, args=(user, rng.randrange(1 << 30), begun + index * step), daemon=True)
               for index, user in enumerate(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return stats


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def report(count: int, duration: float, stats: dict[str, list[float | None]]) -> str:
    lines = [f"\n{count} user(s), {duration:.0f} s", f"{'page':<20}{'requests':>9}{'errors':>8}{'p50 ms':>9}"
                                                      f"{'p95 ms':>9}"]
    total = 0
    for page in sorted(stats):
        times = [t for t in stats[page] if t is not None]
        errors = len(stats[page]) - len(times)
        total += len(stats[page])
        p50 = f"{statistics.median(times):.0f}" if times else "-"
        p95 = f"{_percentile(times, 0.95):.0f}" if times else "-"
        lines.append(f"{page:<20}{len(stats[page]):>9}{errors:>8}{p50:>9}{p95:>9}")
    lines.append(f"{total / duration:.1f} requests/s")
    return "\n".join(lines) + "\n"
