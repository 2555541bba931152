"""The appraisal API: indicators, benchmarks, templates, periods, sheets and lines.

Tenancy first (every detail route and every custom action answers 404 for another organisation's
object, lists never show its rows), then the behaviours: refusals that name what is wrong, opening
a period into sheets, who sees which sheets, who may enter data or rate, and stale edits.
Assertions use codes, data and names, never the wording, so they hold in both languages.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation
from django_scopes import scope

from appraisal import api_urls, services
from appraisal.models import DeductionRecord, Period, Rating, Sheet, SheetLine
from indicators import api_urls as indicator_api_urls
from indicators.models import Benchmark, Indicator, Template
from indicators.services import add_benchmark, build_template, create_indicator
from organizations.models import User
from tests.closing import published_with_appeal
from tests.conftest import World

# The indicators' routes and the appraisal ones, walked together: one scheme's fixtures have a row
# of every model either router exposes.
REGISTRY = [*indicator_api_urls.router.registry, *api_urls.router.registry]
NAMESPACES = {basename: "api-indicators" for _prefix, _viewset, basename in indicator_api_urls.router.registry}
ROUTES = [(prefix, viewset, basename) for prefix, viewset, basename in REGISTRY]
ACTIONS = [
    (basename, viewset, extra)
    for _prefix, viewset, basename in REGISTRY
    for extra in viewset.get_extra_actions()
    if getattr(extra, "detail", False)  # actions on one object: /{id}/open/, /{id}/rate/ …
]

SCALE = {"unit": "points", "scale": [{"label": str(n), "points": str(n * 20)} for n in range(1, 6)]}
STAFF_SPEC: dict[str, Any] = {
    "code": "STAFF", "name": "员工月度考核", "subject_kind": "person",
    "parts": [
        {"code": "kpi", "name": "指标", "weight": "0.6", "full_marks": "100",
         "lines": [{"indicator": "OUT", "max_points": "60"}, {"indicator": "SAFE", "max_points": "40"}]},
        {"code": "conduct", "name": "行为", "weight": "0.4", "full_marks": "100",
         "lines": [{"indicator": "WORK", "max_points": "100", "source": "raters"}]},
    ],
    "raters": [{"role": "self", "weight": "0.2"}, {"role": "supervisor", "weight": "0.8"}],
}


@dataclass
class Scheme:
    world: World
    template: Template
    period: Period


def build_catalogue(world: World) -> None:
    """OUT (completion against a target of 100), SAFE (deductions), WORK (a rating scale)."""
    org = world.org
    with scope(organization=org):
        out = create_indicator(organization=org, acting_user=None, code="OUT", name="产量", method="completion",
                               config={"cap_rate": "1.2"})
        create_indicator(organization=org, acting_user=None, code="SAFE", name="安全", method="deduction",
                         config={"items": [{"code": "late", "name": "迟到", "points": "2"}]})
        create_indicator(organization=org, acting_user=None, code="WORK", name="工作表现", method="rating",
                         config=SCALE)
        add_benchmark(indicator=out, acting_user=None, value="100")


def build_scheme(world: World, *, number: int = 10) -> Scheme:
    """The catalogue, a person template with self + supervisor raters, and an open period with its sheets."""
    build_catalogue(world)
    org = world.org
    with scope(organization=org):
        template = build_template(organization=org, acting_user=None, spec=STAFF_SPEC)
        period = services.create_period(organization=org, acting_user=None, kind="monthly", year=2025,
                                        number=number, templates=[template])
        services.open_period(period=period, acting_user=None)
        services.generate_sheets(period=Period.objects.get(pk=period.pk))  # what the task does after commit
        return Scheme(world, template, Period.objects.get(pk=period.pk))


def line_of(world: World, person: str, code: str) -> SheetLine:
    with scope(organization=world.org):
        return SheetLine.objects.select_related("sheet").get(sheet__person=world.people[person],
                                                             indicator__code=code)


def url(name: str, *args: Any) -> str:
    basename = next((b for b in sorted(NAMESPACES, key=len, reverse=True) if name.startswith(f"{b}-")), "")
    return reverse(f"{NAMESPACES.get(basename, 'api-appraisal')}:{name}", args=args)


def object_of(world: World, model: type[Any]) -> Any:
    with scope(organization=world.org):
        return model.objects.filter(organization=world.org).first()


@pytest.fixture
def schemes(world_a: World, world_b: World, head: User) -> tuple[Scheme, Scheme]:
    """Both organisations with the same scheme; A's production head supervises its people."""
    return build_scheme(world_a), build_scheme(world_b)


@pytest.fixture
def scheme_a(schemes: tuple[Scheme, Scheme]) -> Scheme:
    return schemes[0]


@pytest.fixture
def graded(schemes: tuple[Scheme, Scheme]) -> None:
    """In both organisations a published period with results, a close job, a grading policy and an
    appeal, so the tenancy walks below find a row of every model the router exposes."""
    for scheme in schemes:
        published_with_appeal(scheme.world, scheme.template)


# --- tenancy ------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix,viewset,basename", ROUTES, ids=[r[2] for r in ROUTES])
@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_it_answers_404_for_another_tenants_object_on_every_detail_route(
    prefix: str, viewset: Any, basename: str, method: str, api_for: Any, hr: User, schemes: Any, graded: None,
    world_a: World, world_b: World,
) -> None:
    target = object_of(world_b, viewset.model)
    assert target is not None, f"fixture has no {viewset.model.__name__} in org B"
    client = api_for(hr)  # HR admin of A: every permission in A, none in B
    response = getattr(client, method)(url(f"{basename}-detail", target.pk), {}, format="json")
    # 405 only where the endpoint has no such method at all (it is 405 for A's own rows too).
    assert response.status_code in (404, 405), response.content
    if response.status_code == 405:
        own = object_of(world_a, viewset.model)
        assert getattr(client, method)(url(f"{basename}-detail", own.pk), {}, format="json").status_code == 405


@pytest.mark.parametrize("prefix,viewset,basename", ROUTES, ids=[r[2] for r in ROUTES])
def test_it_never_lists_another_tenants_rows(
    prefix: str, viewset: Any, basename: str, api_for: Any, hr: User, schemes: Any, graded: None, world_b: World
) -> None:
    foreign = object_of(world_b, viewset.model)
    response = api_for(hr).get(url(f"{basename}-list"))
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert ids and foreign.pk not in ids


ACTION_IDS = [f"{basename}-{getattr(extra, 'url_name', '')}" for basename, _viewset, extra in ACTIONS]


@pytest.mark.parametrize("basename,viewset,extra", ACTIONS, ids=ACTION_IDS)
def test_it_answers_404_for_another_tenants_object_on_every_custom_action(
    basename: str, viewset: Any, extra: Any, api_for: Any, hr: User, schemes: Any, graded: None, world_b: World
) -> None:
    target = object_of(world_b, viewset.model)
    client = api_for(hr)
    for method in extra.mapping:
        response = getattr(client, method)(url(f"{basename}-{extra.url_name}", target.pk), {}, format="multipart")
        assert response.status_code == 404, (method, response.content)


# --- catalogue and templates --------------------------------------------------------------------


def test_it_refuses_an_indicator_config_naming_the_wrong_setting(api_for: Any, hr: User, world_a: World) -> None:
    response = api_for(hr).post(url("indicator-list"), {
        "code": "BAD", "name": "坏配置", "method": "deduction",
        "config": {"items": [{"code": "late", "name": "迟到", "points": "lots"}]},
    }, format="json")
    assert response.status_code == 400, response.content
    assert any("items[0].points" in message for message in response.json()["config"])
    with scope(organization=world_a.org):
        assert not Indicator.objects.filter(code="BAD").exists()


def test_it_creates_an_indicator_with_its_normalised_config(api_for: Any, hr: User, world_a: World) -> None:
    response = api_for(hr).post(url("indicator-list"), {
        "code": "OUT", "name": "产量", "method": "completion", "config": {"cap_rate": "1.2"}, "reason": "新指标",
    }, format="json")
    assert response.status_code == 201, response.content
    with scope(organization=world_a.org):
        indicator = Indicator.objects.get(code="OUT")
        assert indicator.history.get().history_user == hr
    assert response.json()["config"]["cap_rate"] == "1.2"


def test_it_adds_and_deletes_a_benchmark_of_an_indicator(api_for: Any, hr: User, world_a: World) -> None:
    build_catalogue(world_a)
    out = object_of(world_a, Indicator)
    client = api_for(hr)
    created = client.post(url("benchmark-list"), {"indicator": out.pk, "value": "95.5", "months": [11, 12]},
                          format="json")
    assert created.status_code == 201, created.content
    listed = client.get(url("benchmark-list"), {"indicator": out.pk}).json()["results"]
    assert {row["value"] for row in listed} == {"100.0000", "95.5000"}
    assert client.delete(url("benchmark-detail", created.json()["id"])).status_code == 204
    with scope(organization=world_a.org):
        assert list(Benchmark.objects.values_list("value", flat=True)) == [Decimal("100")]


def test_it_refuses_a_template_with_bad_weights_listing_problems_and_creating_nothing(
    api_for: Any, hr: User, world_a: World
) -> None:
    build_catalogue(world_a)
    spec = {**STAFF_SPEC, "parts": [{**STAFF_SPEC["parts"][0], "weight": "0.5"}, STAFF_SPEC["parts"][1]],
            "raters": [{"role": "self", "weight": "0.5"}, {"role": "supervisor", "weight": "0.8"}]}
    response = api_for(hr).post(url("template-list"), spec, format="json")
    assert response.status_code == 400
    problems = response.json()["problems"]
    assert any("0.9" in p for p in problems)  # the parts' weights
    assert any("1.3" in p for p in problems)  # the raters' weights
    with scope(organization=world_a.org):
        assert not Template.objects.exists()


def test_it_refuses_a_template_of_the_wrong_shape_as_problems(api_for: Any, hr: User, world_a: World) -> None:
    response = api_for(hr).post(url("template-list"), {"code": "T", "name": "T", "parts": ["kpi"]}, format="json")
    assert response.status_code == 400
    assert any(p.startswith("parts[0]") for p in response.json()["problems"])


def test_it_creates_a_template_and_shows_it_nested(api_for: Any, hr: User, world_a: World) -> None:
    build_catalogue(world_a)
    response = api_for(hr).post(url("template-list"), STAFF_SPEC, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert [p["code"] for p in body["parts"]] == ["kpi", "conduct"]
    assert [line["indicator_code"] for line in body["parts"][0]["lines"]] == ["OUT", "SAFE"]
    assert sorted(r["role"] for r in body["raters"]) == ["self", "supervisor"]


# --- periods ------------------------------------------------------------------------------------


def _template(world: World) -> Template:
    build_catalogue(world)
    with scope(organization=world.org):
        return build_template(organization=world.org, acting_user=None, spec=STAFF_SPEC)


def test_it_creates_and_opens_a_period_into_sheets(
    api_for: Any, hr: User, world_a: World, django_capture_on_commit_callbacks: Any
) -> None:
    template = _template(world_a)
    client = api_for(hr)
    created = client.post(url("period-list"), {"kind": "monthly", "year": 2025, "number": 10,
                                               "templates": [template.pk]}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["code"] == "2025-10" and created.json()["state"] == "draft"
    period_id = created.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        opened = client.post(url("period-open", period_id))
    assert opened.status_code == 200, opened.content
    with scope(organization=world_a.org):
        subjects = set(Sheet.objects.filter(period_id=period_id).values_list("person_id", flat=True))
        assert subjects == {p.pk for p in world_a.people.values()}
        assert Period.objects.get(pk=period_id).sheets_generated_at is not None


def test_it_refuses_a_period_number_outside_the_year(api_for: Any, hr: User, world_a: World) -> None:
    template = _template(world_a)
    response = api_for(hr).post(url("period-list"), {"kind": "quarterly", "year": 2025, "number": 5,
                                                     "templates": [template.pk]}, format="json")
    assert response.status_code == 400
    assert "number" in response.json()


def test_it_refuses_to_open_a_period_twice_naming_its_state(api_for: Any, hr: User, scheme_a: Scheme) -> None:
    response = api_for(hr).post(url("period-open", scheme_a.period.pk))
    assert response.status_code == 409
    with translation.override("zh-hans"):
        state = str(Period.State.OPEN.label)
    assert state in response.json()["detail"]


# --- who sees which sheets -----------------------------------------------------------------------


def _subjects(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {sheet["person"] for sheet in response.json()["results"]}


def test_it_shows_an_employee_only_their_sheet_with_each_lines_explanation(
    api_for: Any, employee: User, scheme_a: Scheme
) -> None:
    world = scheme_a.world
    line = line_of(world, "employee", "OUT")
    with scope(organization=world.org):
        services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None, actual=Decimal("95"))
        explanation = SheetLine.objects.get(pk=line.pk).explanation
    assert explanation
    response = api_for(employee).get(url("sheet-list"), {"period": scheme_a.period.pk})
    assert _subjects(response) == {world.people["employee"].pk}
    lines = {row["indicator_code"]: row for row in response.json()["results"][0]["lines"]}
    assert lines["OUT"]["explanation"] == explanation
    assert lines["OUT"]["score"] == "57.00"  # 60 × 95 / 100


def test_it_hides_a_colleagues_sheet_from_an_employee_with_404(
    api_for: Any, employee: User, scheme_a: Scheme
) -> None:
    with scope(organization=scheme_a.world.org):
        other = Sheet.objects.get(period=scheme_a.period, person=scheme_a.world.people["colleague"])
    assert api_for(employee).get(url("sheet-detail", other.pk)).status_code == 404


def test_it_shows_a_head_the_sheets_of_their_departments(api_for: Any, head: User, scheme_a: Scheme) -> None:
    world = scheme_a.world
    # Production and its sub-department: the head themself and the shift's employee; not back office.
    assert _subjects(api_for(head).get(url("sheet-list"))) == {world.people["head"].pk, world.people["employee"].pk}


def test_it_shows_finance_every_sheet(api_for: Any, finance: User, scheme_a: Scheme) -> None:
    assert _subjects(api_for(finance).get(url("sheet-list"))) == {p.pk for p in scheme_a.world.people.values()}


# --- entering data ------------------------------------------------------------------------------


def test_it_enters_an_actual_and_rescores_the_line(api_for: Any, hr: User, scheme_a: Scheme) -> None:
    line = line_of(scheme_a.world, "employee", "OUT")
    response = api_for(hr).patch(url("line-detail", line.pk), {"version": line.version, "actual": "110",
                                                               "reason": "月报"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["actual"], body["score"], body["version"]) == ("110.0000", "66.00", line.version + 1)
    with scope(organization=scheme_a.world.org):
        latest = SheetLine.history.filter(id=line.pk).latest("history_date")
        assert (latest.history_user, latest.history_change_reason) == (hr, "月报")


def test_it_refuses_a_stale_version_naming_who_changed_the_line(api_for: Any, hr: User, scheme_a: Scheme) -> None:
    User.objects.filter(pk=hr.pk).update(display_name="人事王")
    line = line_of(scheme_a.world, "employee", "OUT")
    client = api_for(hr)
    assert client.patch(url("line-detail", line.pk), {"version": line.version, "actual": "90"},
                        format="json").status_code == 200
    stale = client.patch(url("line-detail", line.pk), {"version": line.version, "actual": "80"}, format="json")
    assert stale.status_code == 409
    assert "人事王" in stale.json()["detail"]
    assert line_of(scheme_a.world, "employee", "OUT").actual == Decimal("90")


def test_it_forbids_an_employee_to_enter_data_on_their_own_sheet(
    api_for: Any, employee: User, scheme_a: Scheme
) -> None:
    line = line_of(scheme_a.world, "employee", "OUT")
    response = api_for(employee).patch(url("line-detail", line.pk), {"version": line.version, "actual": "200"},
                                       format="json")
    assert response.status_code == 403
    assert line_of(scheme_a.world, "employee", "OUT").actual is None


def test_it_lets_a_head_enter_data_for_their_departments_people(api_for: Any, head: User, scheme_a: Scheme) -> None:
    line = line_of(scheme_a.world, "employee", "OUT")
    response = api_for(head).patch(url("line-detail", line.pk), {"version": line.version, "actual": "100"},
                                   format="json")
    assert response.status_code == 200, response.content


def test_it_forbids_a_head_to_enter_data_on_their_own_sheet(api_for: Any, head: User, scheme_a: Scheme) -> None:
    line = line_of(scheme_a.world, "head", "OUT")
    response = api_for(head).patch(url("line-detail", line.pk), {"version": line.version, "actual": "100"},
                                   format="json")
    assert response.status_code == 403


def test_it_refuses_data_entry_on_a_rated_line(api_for: Any, hr: User, scheme_a: Scheme) -> None:
    line = line_of(scheme_a.world, "employee", "WORK")
    response = api_for(hr).patch(url("line-detail", line.pk), {"version": line.version, "rating": "5"},
                                 format="json")
    assert response.status_code == 400
    assert "source" in response.json()


def test_it_records_a_deduction_with_the_recorder_and_rescores(api_for: Any, hr: User, scheme_a: Scheme) -> None:
    world = scheme_a.world
    line = line_of(world, "employee", "SAFE")
    response = api_for(hr).post(url("line-records", line.pk), {"item_code": "late", "count": 3,
                                                               "occurred_on": "2025-10-08"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["recorded_by"] == world.people["hr"].pk
    assert line_of(world, "employee", "SAFE").score == Decimal("34.00")  # 40 − 3 × 2


def test_it_refuses_a_record_of_an_unknown_item_naming_the_field(api_for: Any, hr: User, scheme_a: Scheme) -> None:
    line = line_of(scheme_a.world, "employee", "SAFE")
    response = api_for(hr).post(url("line-records", line.pk), {"item_code": "nap", "occurred_on": "2025-10-08"},
                                format="json")
    assert response.status_code == 400
    assert "item_code" in response.json()
    with scope(organization=scheme_a.world.org):
        assert not DeductionRecord.objects.exists()


# --- rating -------------------------------------------------------------------------------------


def test_it_lets_an_employee_rate_their_self_assessment(api_for: Any, employee: User, scheme_a: Scheme) -> None:
    line = line_of(scheme_a.world, "employee", "WORK")
    response = api_for(employee).post(url("line-rate", line.pk), {"rating": "5", "comment": "按时完成"},
                                      format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["rating"]["role"], body["rating"]["score"]) == ("self", "100.00")
    # Only the self-assessment so far: the supervisor's missing rating counts 0 until given (one rule
    # for a missing rating; the line is provisional meanwhile), never left out to inflate the line:
    # 0.2 × 100 + 0.8 × 0.
    assert body["line"]["score"] == "20.00"
    with scope(organization=scheme_a.world.org):
        assert Rating.objects.get(line=line).history.get().history_user == employee


def test_it_answers_404_to_rating_a_sheet_the_caller_does_not_rate(
    api_for: Any, hr: User, scheme_a: Scheme
) -> None:
    line = line_of(scheme_a.world, "employee", "WORK")
    assert api_for(hr).post(url("line-rate", line.pk), {"rating": "5"}, format="json").status_code == 404


def test_it_lets_the_supervisor_rate_and_combines_the_weights(
    api_for: Any, employee: User, head: User, scheme_a: Scheme
) -> None:
    line = line_of(scheme_a.world, "employee", "WORK")
    api_for(employee).post(url("line-rate", line.pk), {"rating": "5"}, format="json")
    response = api_for(head).post(url("line-rate", line.pk), {"rating": "4"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["line"]["score"] == "84.00"  # 0.2 × 100 + 0.8 × 80


def test_it_refuses_a_stale_rating_with_409(api_for: Any, employee: User, scheme_a: Scheme) -> None:
    line = line_of(scheme_a.world, "employee", "WORK")
    client = api_for(employee)
    first = client.post(url("line-rate", line.pk), {"rating": "3"}, format="json").json()["rating"]
    client.post(url("line-rate", line.pk), {"rating": "4", "version": first["version"]}, format="json")
    stale = client.post(url("line-rate", line.pk), {"rating": "5", "version": first["version"]}, format="json")
    assert stale.status_code == 409


# --- schema -------------------------------------------------------------------------------------


def test_it_describes_every_appraisal_endpoint_in_the_schema(client: Any, db: None) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    paths = response.json()["paths"]
    for expected in ["/api/indicators/{id}/", "/api/benchmarks/", "/api/templates/", "/api/periods/{id}/open/",
                     "/api/periods/{id}/actuals/dry-run/", "/api/periods/{id}/actuals/apply/", "/api/sheets/{id}/",
                     "/api/lines/{id}/", "/api/lines/{id}/rate/", "/api/lines/{id}/records/"]:
        assert expected in paths, expected


def test_it_saves_line_after_line_from_one_read_of_the_sheet(api_for: Any, head: User, scheme_a: Scheme) -> None:
    sheet = line_of(scheme_a.world, "employee", "OUT").sheet
    client = api_for(head)
    read = client.get(url("sheet-detail", sheet.pk)).json()
    versions = {line["id"]: line["version"] for line in read["lines"]}
    out, safe = line_of(scheme_a.world, "employee", "OUT"), line_of(scheme_a.world, "employee", "SAFE")
    first = client.patch(url("line-detail", out.pk), {"version": versions[out.pk], "actual": "90"}, format="json")
    assert first.status_code == 200, first.content
    # The save rescored the sheet, scoring SAFE for the first time; its data is untouched, so the
    # version read before still holds.
    second = client.patch(url("line-detail", safe.pk), {"version": versions[safe.pk], "target": "5"}, format="json")
    assert second.status_code == 200, second.content
