"""Isolation fuzz (issue #13): every route of the project with an object id, asked for another
organisation's rows by every role of A — pages and API, session and token, every method — must
answer as if the row did not exist, and must not change the other organisation's data.

Nothing is listed by hand: the routes come from the URL resolver, the model each route's id
takes is found by asking the route for rows of A (every id in the rich world is unique across
tables), and B's tables are compared by digest. How, in tests/isolation.py; the data set, in
tests/richworld.py. The second test shows the detector catching a planted leak.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from tests import isolation
from tests.richworld import IdRanges, RichWorld, build


@pytest.fixture
def rich(db: None, settings: Any) -> Iterator[RichWorld]:
    # Thousands of requests a minute from one user: far past the API throttle, which is not under test.
    settings.API_THROTTLE_RATE = "1000000/min"
    cache.clear()
    ranges = IdRanges()
    try:
        yield build(ranges)
    finally:
        ranges.restore()


def _fuzz(rich: RichWorld, routes: list[isolation.Route]) -> isolation.Report:
    probes = isolation.principals_of({"probe": rich.probe, **rich.users}, rich.a, tokens=False)
    who = isolation.principals_of(rich.users, rich.a)
    return isolation.run(routes, probes=probes, who=who, a=rich.a, b=rich.b)


def test_the_rich_world_has_rows_of_every_tenant_model_in_both_organisations(rich: RichWorld) -> None:
    empty = [label for label, (in_a, in_b) in rich.counts.items() if not in_a or not in_b]
    assert not empty, f"no rows in A or B of {empty}: add them to tests/richworld.py so the fuzz can reach them"


def test_no_route_answers_for_another_organisations_rows(rich: RichWorld) -> None:
    started, cpu = time.monotonic(), time.process_time()
    routes, problems = isolation.discover()
    report = _fuzz(rich, routes)
    report.problems[:0] = problems
    elapsed = time.monotonic() - started
    methods = {method for _route, _who, method in report.triples}
    principals = {who for _route, who, _method in report.triples}
    print(f"\nisolation fuzz: {len(report.routes)} routes with an id ({len(report.model_of)} checked), "
          f"{len(principals)} principals, {len(methods)} methods: {len(report.triples)} route × principal × method "
          f"combinations, {report.checks} requests for B's rows ({report.sent} in all), in {elapsed:.1f}s "
          f"({time.process_time() - cpu:.1f}s of CPU)")
    for pattern, label in sorted(report.model_of.items()):
        print(f"  {pattern} → {label}")
    if report.crashes:
        # Not a leak (an id that exists nowhere crashes the same way), but worth a bug report.
        warnings.warn(f"{len(report.crashes)} requests crash whatever the id:\n" + "\n".join(
            str(c) for c in report.crashes[:20]), stacklevel=1)
    assert not report.problems, "routes the fuzz could not check:\n" + "\n".join(report.problems)
    assert not report.findings, f"{len(report.findings)} answers reveal or change B's rows:\n" + "\n".join(
        str(f) for f in report.findings[:60])


def test_the_fuzz_catches_a_read_a_write_and_a_telltale_refusal(rich: RichWorld, settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.isolation_leaky_urls"
    routes = [r for r in isolation.discover()[0] if "iso-leak" in r.pattern]
    assert len(routes) == 3
    report = _fuzz(rich, routes)
    assert not report.problems
    assert report.model_of == {"iso-leak/people/<int:pk>/": "organizations.Person",
                               "iso-leak/pay-runs/<int:pk>/tamper/": "payroll.PayRun",
                               "api/iso-leak/sheets/<int:pk>/": "appraisal.Sheet"}
    found = {(f.route, f.method, f.status) for f in report.findings}
    # Every role reads B's person, with every method the view answers.
    reads = {(f.principal, f.method) for f in report.findings if f.route == "iso-leak/people/<int:pk>/"}
    assert {(f"{role} (session)", "get") for role in rich.users} <= reads
    assert ("iso-leak/people/<int:pk>/", "get", 200) in found
    # The tamper route answers 404 like a tenant-safe view; B's pay runs changed all the same.
    tampered = [f for f in report.findings if f.route == "iso-leak/pay-runs/<int:pk>/tamper/"]
    assert [(f.model, f.note) for f in tampered] == [("payroll.PayRun", "B's rows of this model changed")]
    # 403 for B's sheet where an absent id gets 404, as a browser and with a token.
    telltale = {f.principal for f in report.findings if f.route == "api/iso-leak/sheets/<int:pk>/"}
    assert {"hr (session)", "hr (token)"} <= telltale
    assert all(f.status == 403 for f in report.findings if f.route == "api/iso-leak/sheets/<int:pk>/")
