"""Schemathesis against the whole API: no input gets a server error, and every answer is one the
schema documents (its status code, its media type, its body's shape).

In process, through the WSGI application, as an HR (and finance) token of organisation A, seeded
with one row of everything the API shows: a closed period with results and a computed pay run
with its jobs and a finished export, a published period with an open appeal, an open period whose
sheets take data. Organisation B exists too, so its ids are tried and must be 404.

Bounded and reproducible: a fixed seed, derandomized generation, no example database; per
operation the coverage phase (schemathesis' deterministic boundary and missing-field cases) and 15
fuzzed examples, positive and negative. No time limit decides anything. Every request runs inside
a transaction that is rolled back, so each one meets the same seeded data whatever ran before it:
a delete or a close cannot starve the operations after it, and nothing is excluded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django_scopes import scope, scopes_disabled
from hypothesis import strategies as st
from schemathesis.core.failures import FailureGroup, as_reported_failure
from schemathesis.core.result import Err
from schemathesis.pytest.lazy import get_all_tests

from appraisal import services as appraisal_services
from appraisal.models import Appeal, GradingPolicy, Period, Result, Sheet, SheetLine
from indicators.models import Benchmark, Indicator, Template
from organizations import services
from organizations.models import Department, Job, Membership, Organization, Person, Team
from payroll.models import PayInput, PayPolicy, PayRun, PaySlip
from tests.closing import person_template, published_with_appeal
from tests.conftest import World, add_member
from tests.test_pay_api import paid_world

# The first segment of a path, and the rows its {id} names.
ROWS: dict[str, type[Any]] = {
    "organizations": Organization, "departments": Department, "teams": Team, "people": Person,
    "memberships": Membership, "indicators": Indicator, "benchmarks": Benchmark, "templates": Template,
    "periods": Period, "sheets": Sheet, "lines": SheetLine, "results": Result, "appeals": Appeal, "jobs": Job,
    "grading-policies": GradingPolicy, "pay-policies": PayPolicy, "pay-inputs": PayInput, "pay-runs": PayRun,
    "pay-slips": PaySlip, "pay-jobs": Job,
}

CONFIG: dict[str, Any] = {
    "seed": 1313,
    "generation": {
        "mode": "all",  # positive and negative examples
        "max-examples": 15,  # per operation, in the fuzzing phase
        "deterministic": True,
        "database": "none",
        # The Authorization header is the token's (below), never a generated one.
        "with-security-parameters": False,
    },
    "phases": {
        "examples": {"enabled": False},  # the schema has no examples
        # Schemathesis' deterministic cases: each parameter and field at its bounds, each optional
        # part left out. Positive only: the negative ones (thousands, for wrong types) are
        # sampled by the fuzzing phase instead, which keeps the run near two minutes.
        "coverage": {"enabled": True, "generation": {"mode": "positive"}},
        "fuzzing": {"enabled": True},
        "stateful": {"enabled": False},  # no OpenAPI links to follow
    },
    "checks": {
        "enabled": False,
        "not_a_server_error": {"enabled": True},
        "status_code_conformance": {"enabled": True},
        "content_type_conformance": {"enabled": True},
        "response_schema_conformance": {"enabled": True},
    },
}


def _seed(world: World, capture: Any) -> None:
    paid_world(world, capture)  # a pay policy, a closed period with results, a run, an input, jobs, an export
    template = person_template(world.org)
    published_with_appeal(world, template, number=11)
    with scope(organization=world.org):
        period = appraisal_services.create_period(organization=world.org, acting_user=None, kind="monthly",
                                                  year=2025, number=12, templates=[template])
        appraisal_services.transition(period=period, to="open", acting_user=None)
        appraisal_services.generate_sheets(period=Period.objects.get(pk=period.pk))
        appraisal_services.create_period(organization=world.org, acting_user=None, kind="monthly", year=2026,
                                         number=1, templates=[template])  # a draft


def _ids(*worlds: World) -> dict[str, list[int]]:
    """Per path segment, the ids of its rows in every organisation (another's must be 404)."""
    found: dict[str, list[int]] = {}
    with scopes_disabled():
        for segment, model in ROWS.items():
            rows = model.objects.all() if model is Organization else model.objects.filter(
                organization__in=[world.org for world in worlds])
            found[segment] = sorted(rows.values_list("pk", flat=True))
    return found


@pytest.fixture
def _requests_keep_the_test_transaction() -> Iterator[None]:
    # Django closes "old" connections as each request starts and ends; inside the test's
    # transaction that would close the connection under it. Django's own test client does this too.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(world_a: World, world_b: World, settings: Any, django_capture_on_commit_callbacks: Any,
               _requests_keep_the_test_transaction: None) -> Any:
    settings.API_THROTTLE_RATE = "1000000/min"  # the run sends a few thousand requests in a few minutes
    _seed(world_a, django_capture_on_commit_callbacks)
    user = add_member(world_a, "api-hr", person="hr", hr=True, finance=True)
    with scope(organization=world_a.org):
        membership = Membership.objects.get(user=user)
        _, key = services.create_api_token(membership=membership, name="schemathesis", acting_user=None)
    config = schemathesis.Config.from_dict({**CONFIG, "headers": {"Authorization": f"Token {key}"}})
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler(), config=config)
    ids = _ids(world_a, world_b)

    @schema.hook
    def before_generate_path_parameters(context: Any, strategy: Any) -> Any:
        """Half the time an id of a real row of the path's kind (A's or B's), else whatever is generated."""
        segment = context.operation.path.split("/")[2]
        if "{id}" not in context.operation.path or not ids.get(segment):
            return strategy
        return st.one_of(strategy, st.fixed_dictionaries({"id": st.sampled_from(ids[segment])}))

    return schema


def _check(case: schemathesis.Case) -> None:
    with transaction.atomic():
        response = case.call()
        transaction.set_rollback(True)  # the next request meets the seeded data again
    case.validate_response(response)


def test_no_input_gets_a_server_error_and_every_answer_is_documented(api_schema: Any) -> None:
    # schemathesis' own pytest integration (from_fixture / parametrize) renames pytest nodes in a way
    # pytest 9.2 no longer allows, so the operations are walked here: the same per-operation
    # Hypothesis tests (coverage and fuzzing phases, the config above), each failure kept and all
    # of them reported together.
    failures: dict[str, str] = {}
    tested = []
    for result in get_all_tests(schema=api_schema, test_func=_check, settings=None, given_kwargs=None):
        if isinstance(result, Err):
            failures[str(result.err())] = "the schema cannot be tested"
            continue
        operation, test = result.ok()
        tested.append(operation.label)
        try:
            test()
        except FailureGroup as group:
            failures[operation.label] = str(as_reported_failure(group))
        except Exception as error:
            failures[operation.label] = f"{type(error).__name__}: {error}"
    documented = [f"{method.upper()} {path}" for path, item in api_schema.raw_schema["paths"].items()
                  for method in item if method in {"get", "put", "post", "patch", "delete"}]
    assert sorted(tested) == sorted(documented)  # nothing left out
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in sorted(failures.items()))
