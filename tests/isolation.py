"""The isolation fuzz's machinery (tests/test_isolation.py): every route of the project, which
model its id takes, and another organisation's rows asked for by every role of A.

* **Routes** come from ``django.urls.get_resolver()``, walked recursively, pages and API alike, so
  a new route is covered the day it is added. Left out (``SKIPPED``): the two admin sites (their
  own tenancy tests: tests/test_admin.py), i18n, the OpenAPI schema and its viewers (no object
  ids), and the static/media file server. A parameter is an object id unless ``NON_ID_VALUES``
  names it (``format``: a DRF suffix, ``step``: a period step); a route with a parameter that is
  neither, or with two ids, is reported rather than skipped.
* **Which model an id takes** is found, not listed: every id in the rich world names exactly one
  row of one table (tests/richworld.py), so the probe — every role of A at once — asks the route
  for one row of A of each tenant model (and A itself); a model whose row answers anything but
  404, where an id that exists nowhere answers 404, is what the route takes. Each of these
  requests runs in a savepoint that is rolled back, so A stays as it was built.
* **The check**: B's rows of those models (one per combination of their choice fields: a job of
  each kind, a pay run of each state…), asked for by each role of A — HR, head, employee,
  finance, group member, signed in with a session, and with an API token of each on API routes —
  with GET and every other method. The answer must be 404, or exactly what the same principal
  gets for an id that exists nowhere when that is 403 (the role may not use the route at all) or
  405 (and A's own row gets 405 too: the route has no such method). Anything else — 2xx, a
  redirect, 400, 409, 500 — tells the caller the row exists. And B's tables must not change: a
  digest of every tenant-owned model's rows of B, before and after each route.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import translation
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from appraisal import period_steps
from organizations.middleware import SESSION_KEY
from organizations.models import Membership, Organization, User
from organizations.services import create_api_token
from tests.richworld import MISSING_ID, tenant_models

# Not walked: the HR admin and the platform admin (tests/test_admin.py), language switching, the
# OpenAPI schema, Swagger and ReDoc (no object ids), and django.views.static.serve (files, DEBUG only).
SKIPPED = re.compile(r"^(admin/|platform-admin/|i18n/|api/schema/|api/docs/|api/redoc/|static/|media/)")
SKIPPED_VIEWS = frozenset({"django.views.static.serve"})
# Parameters that are not object ids, with the values to put there (each value is a route of its
# own: a leaky period lookup behind a step its period is not at would still end in a 404).
NON_ID_VALUES: dict[str, tuple[str, ...]] = {"format": ("json",), "step": tuple(period_steps.LABELS)}
METHODS = ("get", "post", "put", "patch", "delete")
SAMPLES_PER_MODEL = 4
ALLOWED = frozenset({403, 404, 405})


@dataclass(frozen=True)
class Route:
    pattern: str  # as written, prefixes joined: "api/^periods/(?P<pk>[^/.]+)/close/$"
    name: str  # namespaced: "api-appraisal:period-close"
    id_param: str
    fixed: tuple[tuple[str, str], ...]  # the other parameters and their values
    view: Callable[..., Any]

    @property
    def is_api(self) -> bool:
        return self.pattern.startswith("api/")

    @property
    def group(self) -> tuple[Any, ...]:
        """Routes that are one view, one name and the same values (a DRF route and its ``.json``
        twin) take the same model."""
        return id(self.view), self.name, tuple(v for k, v in self.fixed if k != "format")

    @property
    def label(self) -> str:
        """The pattern, with the value of each parameter that is not the id."""
        values = ", ".join(f"{k}={v}" for k, v in self.fixed if k != "format")
        return f"{self.pattern} [{values}]" if values else self.pattern

    def url(self, pk: int) -> str:
        return reverse(self.name, kwargs={self.id_param: pk, **dict(self.fixed)})


def _params(pattern: Any) -> list[str]:
    converters = getattr(pattern, "converters", None)
    if converters:
        return list(converters)
    regex = getattr(pattern, "regex", None)
    return list(regex.groupindex) if regex is not None else []


def _walk(resolver: URLResolver, prefix: str, namespace: str, params: list[str]) -> Iterator[tuple[str, str, list[str],
                                                                                                  URLPattern]]:
    for entry in resolver.url_patterns:
        text = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}".strip(":") if entry.namespace else namespace
            yield from _walk(entry, text, inner, params + _params(entry.pattern))
        else:
            name = f"{namespace}:{entry.name}".strip(":") if entry.name else ""
            yield text, name, params + _params(entry.pattern), entry


def discover() -> tuple[list[Route], list[str]]:
    """Every route with an object id, and what could not be made into one (a problem to report)."""
    routes: list[Route] = []
    problems: list[str] = []
    for text, name, params, entry in _walk(get_resolver(), "", "", []):
        view_path = f"{getattr(entry.callback, '__module__', '')}.{getattr(entry.callback, '__name__', '')}"
        if SKIPPED.match(text.replace("^", "")) or view_path in SKIPPED_VIEWS:
            continue
        ids = [p for p in params if p not in NON_ID_VALUES]
        if not ids:
            continue
        if len(ids) > 1 or not name:
            problems.append(f"{text}: {'no name' if not name else 'several ids ' + ', '.join(ids)} — the fuzz "
                            f"cannot build its URL (give the route a name / teach tests/isolation.py several ids)")
            continue
        fixed_names = [p for p in params if p in NON_ID_VALUES]
        for values in itertools.product(*(NON_ID_VALUES[p] for p in fixed_names)):
            route = Route(text, name, ids[0], tuple(zip(fixed_names, values, strict=True)), entry.callback)
            url = route.url(MISSING_ID)
            if resolve(url).func is not entry.callback:
                problems.append(f"{text}: {url} resolves to another view (the route is shadowed)")
                continue
            routes.append(route)
    return routes, problems


# --- rows: samples of each model, and a digest of an organisation's rows -------------------------


def _choice_fields(model: type[models.Model]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields if f.choices and not f.primary_key]


def samples(org: Organization, limit: int = SAMPLES_PER_MODEL) -> dict[type[models.Model], list[int]]:
    """For each model an id may be of (every tenant-owned model and the organisation itself), ids
    of ``org``'s rows, first row first: a row for each value of each of the model's choice fields
    (a job of each kind, a pay run of each state, an appeal of each state…), up to ``limit``."""
    found: dict[type[models.Model], list[int]] = {Organization: [org.pk]}
    with scopes_disabled():
        for model in tenant_models():
            if not isinstance(model._meta.pk, models.AutoField | models.BigAutoField):
                continue
            seen: set[tuple[int, Any]] = set()
            chosen: list[int] = []
            rows = model._base_manager.filter(organization=org).order_by("pk").values_list(
                "pk", *_choice_fields(model))
            for pk, *values in rows.iterator():
                news = set(enumerate(values)) - seen
                if news or not chosen:
                    chosen.append(pk)
                    seen |= news
                if len(chosen) >= limit:
                    break
            if chosen:
                found[model] = chosen
    return found


def digest(org: Organization) -> dict[str, str]:
    """A digest of every row of ``org`` in every tenant-owned model (and of its own row), by model."""
    result: dict[str, str] = {}
    with scopes_disabled():
        everything: list[type[models.Model]] = [Organization, *tenant_models()]
        for model in everything:
            names = [f.attname for f in model._meta.concrete_fields]
            rows = (model._base_manager.filter(pk=org.pk) if model is Organization
                    else model._base_manager.filter(organization=org))
            hashed = hashlib.sha256()
            for row in rows.order_by("pk").values_list(*names).iterator():
                hashed.update(repr(row).encode())
            result[model._meta.label] = hashed.hexdigest()
    return result


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(label for label in before.keys() | after.keys() if before.get(label) != after.get(label))


# --- principals -----------------------------------------------------------------------------------


@dataclass
class Principal:
    label: str  # "head (session)", "head (token)"
    client: APIClient
    token: bool


def principals_of(users: dict[str, User], org: Organization, *, tokens: bool = True) -> list[Principal]:
    """A signed-in browser for each role of ``org`` (its organisation chosen), and an API token of each."""
    found: list[Principal] = []
    for role, user in users.items():
        browser = APIClient()
        browser.force_login(user)
        session = browser.session
        session[SESSION_KEY] = org.pk
        session.save()
        found.append(Principal(f"{role} (session)", browser, token=False))
    if tokens:
        for role, user in users.items():
            with scopes_disabled():
                membership = Membership.objects.get(user=user, organization=org)
                _, key = create_api_token(membership=membership, name="isolation fuzz", acting_user=None)
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
            found.append(Principal(f"{role} (token)", client, token=True))
    return found


# --- requests -------------------------------------------------------------------------------------


@contextmanager
def _rolled_back() -> Iterator[None]:
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


SENT = [0]  # requests sent, for the report


def ask(principal: Principal, route: Route, method: str, pk: int, *, keep: bool = True) -> tuple[int, str]:
    """The status of one request, and a short note when it raised. ``keep=False``: whatever the
    request wrote is rolled back (the probe's requests against A)."""
    SENT[0] += 1
    send = getattr(principal.client, method)
    options: dict[str, Any] = {"format": "json"} if route.is_api else {}
    try:
        with transaction.atomic():
            if keep:
                response = send(route.url(pk), {}, **options)
            else:
                with _rolled_back():
                    response = send(route.url(pk), {}, **options)
    except Exception as error:  # a crash is a finding, not the end of the run
        return 500, f"{type(error).__name__}: {str(error)[:200]}"
    return response.status_code, ""


# --- identification -----------------------------------------------------------------------------


@dataclass
class Identified:
    model: type[models.Model]
    own: int  # a row of A the route answers for
    accepted: list[str]  # the methods A's own row does not get 405 for (asked as the probe)


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") else word


def _ranked(route: Route, models_: Iterable[type[models.Model]]) -> list[type[models.Model]]:
    """The models to try first: those named like the words before the id ("pay/runs/<pk>" →
    PayRun, "people/<pk>" → Person, "exports/<pk>" → Job, whose kinds include pay_export), the
    nearest word weighing most; audit-trail models last. Only an order: every model is tried
    until one answers."""
    head = route.pattern.split(route.id_param)[0].lower()
    words = [w for w in re.split(r"[^a-z]+", head) if w and w not in {"api", "p", "int"}][::-1]

    def score(model: type[models.Model]) -> tuple[float, bool, str]:
        name = model.__name__.lower()
        other = " ".join([str(model._meta.verbose_name), str(model._meta.verbose_name_plural),
                          *(str(value) for f in model._meta.concrete_fields for value, _ in f.choices or [])]).lower()
        points = 0.0
        for place, word in enumerate(words):
            one = _singular(word)
            hit = 3 if one == name else 2 if one in name else 1 if word in other or one in other else 0
            points += hit / (place + 1)
        return -points, name.startswith("historical"), model._meta.label

    with translation.override("en"):  # the model's names in the language of the URLs
        return sorted(models_, key=score)


def identify(route: Route, probes: list[Principal], own: dict[type[models.Model], list[int]]) -> Identified | None:
    """The model whose rows the route answers for. Each probe uses the first method for which an id
    that exists nowhere is a 404 and asks for rows of A until one answers anything but 404: every
    row sampled of the three likeliest models, then one row of every model, then the rest. Every
    request is rolled back."""
    order = _ranked(route, own)
    methods: dict[str, str | None] = {}
    rounds = [[(m, own[m]) for m in order[:3]], [(m, own[m][:1]) for m in order[3:]],
              [(m, own[m][1:]) for m in order[3:]]]
    for candidates in rounds:
        for probe in probes:
            if probe.label not in methods:
                methods[probe.label] = next(
                    (m for m in METHODS if ask(probe, route, m, MISSING_ID, keep=False)[0] == 404), None)
            method = methods[probe.label]
            if method is None:
                continue
            for model, ids in candidates:
                for pk in ids:
                    if ask(probe, route, method, pk, keep=False)[0] != 404:
                        accepted = [m for m in METHODS if ask(probe, route, m, pk, keep=False)[0] != 405]
                        return Identified(model, pk, accepted)
    return None


# --- the check ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    route: str
    principal: str
    method: str
    model: str
    pk: int
    status: int
    expected: str
    note: str = ""

    def __str__(self) -> str:
        note = f" — {self.note}" if self.note else ""
        return (f"{self.method.upper()} {self.route} as {self.principal} for {self.model} #{self.pk} of B: "
                f"{self.status}, expected {self.expected}{note}")


@dataclass
class Report:
    routes: list[Route] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # routes the fuzz could not check
    findings: list[Finding] = field(default_factory=list)
    crashes: list[Finding] = field(default_factory=list)  # 500 for B's row and for an absent id alike
    model_of: dict[str, str] = field(default_factory=dict)  # route pattern → model label
    checks: int = 0  # requests for B's rows
    sent: int = 0  # every request, the probes' and the baselines' included
    triples: set[tuple[str, str, str]] = field(default_factory=set)  # (route, principal, method) checked
    _cache: dict[tuple[Any, ...], int] = field(default_factory=dict)

    def remembered(self, key: tuple[Any, ...], asking: Callable[[], int]) -> int:
        if key not in self._cache:
            self._cache[key] = asking()
        return self._cache[key]


def check_route(route: Route, who: list[Principal], found: Identified, foreign: list[int], report: Report) -> None:
    """B's rows of the route's model, asked for by each principal with each method the route has
    (every row: one of each combination of the model's choices), and once as a browser and once
    with a token with each method it has not (405 is answered before any code reads a row). A
    ``.json`` twin of a DRF route, which is the same view, is asked for one row."""
    twin = "format" in dict(route.fixed)
    applicable = [p for p in who if route.is_api or not p.token]
    one_of_each = [next(p for p in applicable if p.token == kind) for kind in {p.token for p in applicable}]
    for method in METHODS:
        accepted = method in found.accepted
        if twin and not accepted:
            continue
        for principal in applicable if accepted else one_of_each:
            for pk in foreign if accepted and not twin else foreign[:1]:
                if _check_one(principal, route, method, pk, found, report) != 404:
                    break  # 403 or 405 as for any id (or a finding already): the same for every row


def _check_one(principal: Principal, route: Route, method: str, pk: int, found: Identified, report: Report) -> int:
    status, note = ask(principal, route, method, pk)
    report.checks += 1
    report.triples.add((route.label, principal.label, method))
    key = (route, principal.label, method)

    def absent() -> int:
        return report.remembered(("absent", *key), lambda: ask(principal, route, method, MISSING_ID)[0])

    def own() -> int:
        return report.remembered(("own", *key), lambda: ask(principal, route, method, found.own, keep=False)[0])

    problem = _judge(status, absent=absent, own=own)
    finding = Finding(route.label, principal.label, method, found.model._meta.label, pk, status, problem, note)
    if problem == CRASH:
        report.crashes.append(finding)
    elif problem:
        report.findings.append(finding)
    return status


CRASH = "a crash, as for an id that exists nowhere"


def _judge(status: int, *, absent: Callable[[], int], own: Callable[[], int]) -> str:
    """'' when ``status`` (for B's row) reveals nothing, else what was expected instead (``CRASH``:
    the route fails for any id alike — a bug, but one that tells nothing about B)."""
    if status == 404:
        return ""
    if status == 500 and absent() == 500:
        return CRASH
    if status not in ALLOWED:
        return "404"
    if status == 403 and absent() != 403:
        return f"{absent()}, as for an id that exists nowhere (403 only where the role may not use the route)"
    if status == 405 and own() != 405:
        return f"404 (A's own row gets {own()}, not 405: the route has this method)"
    return ""


@contextmanager
def _quiet() -> Iterator[None]:
    """Thousands of 404s are the point, and a crash is reported with the request that caused it:
    django.request's log line (and traceback) for each would only slow the run down."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def run(routes: Iterable[Route], *, probes: list[Principal], who: list[Principal], a: Organization,
        b: Organization) -> Report:
    report = Report()
    sent = SENT[0]
    own = samples(a)
    foreign = samples(b)
    identified: dict[tuple[int, str], Identified | None] = {}
    with _quiet():
        before = digest(b)
        for route in routes:
            report.routes.append(route)
            if route.group not in identified:
                identified[route.group] = identify(route, probes, own)
            found = identified[route.group]
            if found is None:
                report.problems.append(f"{route.label} ({route.name}): no row of A answers anything but 404 to "
                                       f"any role — which model does its id take? Give the rich world "
                                       f"(tests/richworld.py) a row it accepts")
                continue
            report.model_of[route.label] = found.model._meta.label
            check_route(route, who, found, foreign[found.model], report)
            after = digest(b)
            for label in changed(before, after):
                report.findings.append(Finding(route.label, "someone", "some method", label, 0, 0,
                                               "B's rows unchanged", "B's rows of this model changed"))
            before = after
    report.sent = SENT[0] - sent
    return report
