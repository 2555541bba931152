"""The rater's grid (issue #17 point 5): a group rater rates every sheet they rate in a period in one
form (/periods/<pk>/rate/) or one API request (POST /api/periods/<pk>/ratings/bulk/), through
appraisal.services.rate_many: all or nothing, audited, the sheets rescored set-based.

The world: every person of A is assessed on two rated lines, 工作业绩 (a scale) and 医德医风 (a value
0–100, S0-3's group score), by a review group of two, the head and the employee; each is recused
from their own sheet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope

from appraisal import services
from appraisal.models import Period, Rater, Rating, Sheet, SheetLine
from indicators.models import Template
from indicators.services import build_template, create_indicator
from organizations import services as org_services
from organizations.models import Membership, Person, ReviewGroup, User
from tests.conftest import World

D = Decimal
WORK_SCALE = {"unit": "points", "scale": [{"label": "优秀", "points": "100"}, {"label": "良好", "points": "85"},
                                          {"label": "合格", "points": "60"}]}
ETHIC = {"expression": "MIN(MAX(actual, 0), 100) * max_points / 100"}


@dataclass
class Grid:
    world: World
    template: Template
    period: Period

    def sheet(self, key: str, period: Period | None = None) -> Sheet:
        with scope(organization=self.world.org):
            return Sheet.objects.select_related("person").get(period=period or self.period,
                                                               person=self.person(key))

    def person(self, key: str) -> Person:
        with scope(organization=self.world.org):
            return self.world.people.get(key) or Person.objects.get(employee_no=key)

    def line(self, key: str, code: str, period: Period | None = None) -> SheetLine:
        with scope(organization=self.world.org):
            return SheetLine.objects.select_related("sheet").get(sheet=self.sheet(key, period), indicator__code=code)

    def rater(self, key: str, rater: str = "head", period: Period | None = None) -> Rater:
        with scope(organization=self.world.org):
            return Rater.objects.get(sheet=self.sheet(key, period), person=self.person(rater))


def add_people(world: World, count: int, *, prefix: str = "op") -> list[str]:
    """More people in the shift's department (employee numbers op1, op2 …)."""
    keys = []
    with scope(organization=world.org):
        for n in range(1, count + 1):
            person = org_services.create_person(organization=world.org, acting_user=None, employee_no=f"{prefix}{n}",
                                                name=f"值班员{n}", department=world.shift_dept)
            world.people[person.employee_no] = person
            keys.append(person.employee_no)
    return keys


def open_period(world: World, template: Template, number: int = 10) -> Period:
    with scope(organization=world.org):
        period = services.create_period(organization=world.org, acting_user=None, kind="monthly", year=2026,
                                        number=number, templates=[template])
        services.open_period(period=period, acting_user=None)
        services.generate_sheets(period=Period.objects.get(pk=period.pk))
        return Period.objects.get(pk=period.pk)


def build_grid(world: World, head: User, employee: User, *, extra: int = 2) -> Grid:
    add_people(world, extra)
    org = world.org
    with scope(organization=org):
        group = ReviewGroup.objects.create(organization=org, code="RG", name="考核小组", kind="review")
        for user in (head, employee):
            org_services.add_group_member(group=group, membership=Membership.objects.get(user=user), acting_user=None)
        create_indicator(organization=org, acting_user=None, code="WORK", name="工作业绩", method="rating",
                         config=WORK_SCALE)
        create_indicator(organization=org, acting_user=None, code="ETHIC", name="医德医风", method="formula",
                         config=ETHIC)
        template = build_template(organization=org, acting_user=None, spec={
            "code": "GRP", "name": "小组评议", "subject_kind": "person",
            "parts": [{"code": "work", "name": "业绩", "weight": "0.6",
                       "lines": [{"indicator": "WORK", "max_points": "100", "source": "raters"}]},
                      {"code": "ethic", "name": "医德", "weight": "0.4",
                       "lines": [{"indicator": "ETHIC", "max_points": "100", "source": "raters"}]}],
            "raters": [{"role": "group", "weight": "1", "group": "RG"}],
        })
    return Grid(world, template, open_period(world, template))


@pytest.fixture
def grid(world_a: World, head: User, employee: User) -> Grid:
    return build_grid(world_a, head, employee)


# The head's grid: every sheet but his own (recused), a label and a value each.
GIVEN = {"employee": ("优秀", "90"), "hr": ("良好", "80"), "colleague": ("合格", "70"), "finance": ("良好", "75"),
         "op1": ("优秀", "95"), "op2": ("合格", "60")}


def entries(grid: Grid, given: dict[str, tuple[str, str]], period: Period | None = None) -> list[services.RatingEntry]:
    rows = []
    for key, (label, value) in given.items():
        rows.append(services.RatingEntry(line_id=grid.line(key, "WORK", period).pk, rating=label))
        rows.append(services.RatingEntry(line_id=grid.line(key, "ETHIC", period).pk, actual=D(value)))
    return rows


def rate_many(grid: Grid, rows: list[services.RatingEntry], period: Period | None = None,
              rater: str = "head", **kwargs: Any) -> services.BulkRated:
    with scope(organization=grid.world.org):
        return services.rate_many(rater_person=grid.person(rater), period=period or grid.period, entries=rows,
                                  acting_user=kwargs.pop("acting_user", None), **kwargs)


def scores(grid: Grid, period: Period) -> dict[str, Any]:
    with scope(organization=grid.world.org):
        sheets = Sheet.objects.filter(period=period).select_related("person")
        lines = SheetLine.objects.filter(sheet__period=period).select_related("sheet__person", "indicator")
        return {"sheets": {s.person.employee_no: (s.score, s.explanation) for s in sheets if s.person},
                "lines": {(x.sheet.person.employee_no, x.indicator.code): (x.score, x.raw_score, x.explanation)
                          for x in lines if x.sheet.person}}


# --- the service ------------------------------------------------------------------------------------


def test_it_scores_a_grid_saved_at_once_as_the_same_ratings_saved_one_by_one(grid: Grid) -> None:
    rate_many(grid, entries(grid, GIVEN))
    other = open_period(grid.world, grid.template, number=11)
    with scope(organization=grid.world.org):
        for key, (label, value) in GIVEN.items():
            services.rate_line(line=grid.line(key, "WORK", other), rater=grid.rater(key, period=other),
                               acting_user=None, rating=label)
            services.rate_line(line=grid.line(key, "ETHIC", other), rater=grid.rater(key, period=other),
                               acting_user=None, actual=D(value))
    at_once, one_by_one = scores(grid, grid.period), scores(grid, other)
    assert at_once == one_by_one
    # 优秀 100 and 90 from the head; the employee has not rated yet and counts 0 meanwhile: half each.
    assert at_once["sheets"]["op1"][0] == D("0.6") * 50 + D("0.4") * D("47.5")


def test_it_writes_nothing_when_one_entry_is_bad_and_names_the_person_and_the_line(grid: Grid) -> None:
    rows = entries(grid, GIVEN)
    rows[4] = services.RatingEntry(line_id=grid.line("colleague", "WORK").pk, rating="极好")
    before = scores(grid, grid.period)
    with pytest.raises(services.RatingsRefused) as refused:
        rate_many(grid, rows)
    [problem] = refused.value.problems
    assert problem.index == 4 and problem.field == "rating"
    assert "colleague-a" in problem.message and "工作业绩" in problem.message and "极好" in problem.message
    with scope(organization=grid.world.org):
        assert Rating.objects.count() == 0
    assert scores(grid, grid.period) == before


def test_it_refuses_the_sheet_its_rater_is_recused_from(grid: Grid) -> None:
    rows = [services.RatingEntry(line_id=grid.line("head", "WORK").pk, rating="优秀")]
    with pytest.raises(services.RatingsRefused) as refused:
        rate_many(grid, rows)
    assert refused.value.problems[0].field == "rater"
    assert "head-a" in refused.value.problems[0].message


def test_it_refuses_a_sheet_the_person_does_not_rate(grid: Grid) -> None:
    rows = [services.RatingEntry(line_id=grid.line("op1", "WORK").pk, rating="优秀")]
    with pytest.raises(services.RatingsRefused) as refused:
        rate_many(grid, rows, rater="hr")
    assert refused.value.problems[0].field == "rater"


def test_it_refuses_a_line_of_another_period(grid: Grid) -> None:
    other = open_period(grid.world, grid.template, number=11)
    with pytest.raises(services.RatingsRefused) as refused:
        rate_many(grid, [services.RatingEntry(line_id=grid.line("op1", "WORK", other).pk, rating="优秀")])
    assert refused.value.problems[0].field == "line"


def test_it_refuses_a_line_given_twice(grid: Grid) -> None:
    line = grid.line("op1", "WORK").pk
    with pytest.raises(services.RatingsRefused) as refused:
        rate_many(grid, [services.RatingEntry(line_id=line, rating="优秀"),
                         services.RatingEntry(line_id=line, rating="合格")])
    assert [p.index for p in refused.value.problems] == [1]


def test_it_refuses_everything_once_the_period_is_closed(grid: Grid) -> None:
    with scope(organization=grid.world.org):
        Period.objects.filter(pk=grid.period.pk).update(state=Period.State.CLOSED)
    with pytest.raises(services.IllegalTransition):
        rate_many(grid, entries(grid, GIVEN))


def test_it_refuses_a_rating_changed_since_it_was_read(grid: Grid) -> None:
    line = grid.line("op1", "WORK")
    rate_many(grid, [services.RatingEntry(line_id=line.pk, rating="优秀")])
    rate_many(grid, [services.RatingEntry(line_id=line.pk, rating="良好", expected_version=1)])
    with pytest.raises(services.RatingsRefused) as refused:
        rate_many(grid, [services.RatingEntry(line_id=line.pk, rating="合格", expected_version=1)])
    assert refused.value.problems[0].field == "version"


def test_it_audits_each_rating_with_the_acting_user(grid: Grid, head: User) -> None:
    rate_many(grid, entries(grid, {"op1": ("优秀", "90")}), acting_user=head)
    rate_many(grid, entries(grid, {"op1": ("良好", "90")}), acting_user=head)
    with scope(organization=grid.world.org):
        work = Rating.objects.get(line=grid.line("op1", "WORK"))
        trail = list(work.history.order_by("history_date").values_list("history_type", "rating", "history_user"))
        assert trail == [("+", "优秀", head.pk), ("~", "良好", head.pk)]
        assert work.version == 2


def test_it_writes_nothing_for_ratings_already_given(grid: Grid) -> None:
    rate_many(grid, entries(grid, GIVEN))
    with scope(organization=grid.world.org):
        audit = Rating.history.count()
    again = rate_many(grid, entries(grid, GIVEN))
    assert (again.written, again.unchanged, again.scores) == (0, 2 * len(GIVEN), {})
    with scope(organization=grid.world.org):
        assert Rating.history.count() == audit


def _grid_of(grid: Grid, keys: list[str], label: str) -> list[services.RatingEntry]:
    return entries(grid, {key: (label, "80") for key in keys})


def test_it_saves_two_sheets_and_ten_in_as_many_queries(
    world_a: World, head: User, employee: User, django_assert_max_num_queries: Any,
) -> None:
    grid = build_grid(world_a, head, employee, extra=13)
    rate_many(grid, _grid_of(grid, ["op1"], "优秀"))  # warm up: content types, translations
    two, ten = ["op2", "op3"], [f"op{n}" for n in range(4, 14)]
    for label in ("优秀", "合格"):  # new ratings, then changed ones
        small, large = _grid_of(grid, two, label), _grid_of(grid, ten, label)
        with CaptureQueriesContext(connection) as counted:
            rate_many(grid, small)
        with django_assert_max_num_queries(len(counted)):
            rate_many(grid, large)
    with scope(organization=world_a.org):
        assert Rating.objects.filter(rating="合格").count() == 12


# --- the page ------------------------------------------------------------------------------------------


def _page(client: Client, grid: Grid, query: str = "") -> str:
    response = client.get(reverse("rating-grid", args=[grid.period.pk]) + query)
    assert response.status_code == 200
    return response.content.decode()


def _cell(grid: Grid, key: str, code: str, rater: str = "head") -> str:
    return f"cell-{grid.rater(key, rater).pk}-{grid.line(key, code).pk}"


def _form(grid: Grid, given: dict[str, tuple[str, str]]) -> dict[str, str]:
    data = {}
    for key, (label, value) in given.items():
        data[_cell(grid, key, "WORK")] = label
        data[_cell(grid, key, "ETHIC")] = value
    return data


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr class="grid-row[^"]*" data-sheet="(\d+)"', html)


def test_it_shows_every_sheet_the_person_rates_with_the_ratings_given(client: Client, grid: Grid, head: User) -> None:
    rate_many(grid, entries(grid, {"op1": ("良好", "82.5")}))
    client.force_login(head)
    html = _page(client, grid)
    assert len(_rows(html)) == len(GIVEN) + 1  # and his own, read-only
    assert re.search(rf'name="{_cell(grid, "op1", "ETHIC")}"[^>]*value="82.5"', html)
    assert '<option value="良好" selected>' in html
    assert html.count('class="grid-column"') == 2


def test_it_saves_the_whole_grid_in_one_post_as_the_service_would(client: Client, grid: Grid, head: User) -> None:
    client.force_login(head)
    response = client.post(reverse("rating-grid", args=[grid.period.pk]), _form(grid, GIVEN))
    assert response.status_code == 302
    posted = scores(grid, grid.period)
    other = open_period(grid.world, grid.template, number=11)
    rate_many(grid, entries(grid, GIVEN, other), other)
    assert posted == scores(grid, other)
    with scope(organization=grid.world.org):
        assert Rating.objects.filter(line__sheet__period=grid.period).count() == 2 * len(GIVEN)


def test_it_shows_each_bad_cell_naming_person_and_line_and_writes_nothing(
    client: Client, grid: Grid, head: User,
) -> None:
    client.force_login(head)
    data = _form(grid, GIVEN)
    data[_cell(grid, "finance", "ETHIC")] = "很好"
    response = client.post(reverse("rating-grid", args=[grid.period.pk]), data)
    assert response.status_code == 400
    html = response.content.decode()
    errors = re.findall(r'class="invalid-feedback d-block cell-error" id="([^"]+)-error">([^<]+)<', html)
    assert [name for name, _text in errors] == [_cell(grid, "finance", "ETHIC")]
    assert "finance-a" in errors[0][1] and "医德医风" in errors[0][1]
    assert 'id="grid-problems"' in html
    assert re.search(rf'name="{_cell(grid, "hr", "ETHIC")}"[^>]*value="80"', html)  # kept as typed
    with scope(organization=grid.world.org):
        assert Rating.objects.count() == 0


def test_it_shows_a_rating_changed_since_the_page_was_read_on_its_cell(
    client: Client, grid: Grid, head: User,
) -> None:
    rate_many(grid, entries(grid, {"op2": ("合格", "50")}))
    client.force_login(head)
    html = _page(client, grid)  # read at version 1
    version = f"version-{grid.rater('op2').pk}-{grid.line('op2', 'WORK').pk}"
    assert f'name="{version}" value="1"' in html
    rate_many(grid, [services.RatingEntry(line_id=grid.line("op2", "WORK").pk, rating="良好")])  # another tab
    data = {**_form(grid, GIVEN), version: "1"}
    response = client.post(reverse("rating-grid", args=[grid.period.pk]), data)
    assert response.status_code == 400
    errors = re.findall(r'class="invalid-feedback d-block cell-error" id="([^"]+)-error"', response.content.decode())
    assert errors == [_cell(grid, "op2", "WORK")]
    with scope(organization=grid.world.org):
        assert Rating.objects.count() == 2  # the earlier saves' only
        assert Rating.objects.get(line=grid.line("op2", "WORK")).rating == "良好"


def test_it_shows_the_recused_sheet_read_only_with_the_reason(client: Client, grid: Grid, head: User) -> None:
    client.force_login(head)
    html = _page(client, grid)
    own = grid.sheet("head")
    row = re.search(rf'<tr class="grid-row grid-readonly-row" data-sheet="{own.pk}".*?</tr>', html, re.S)
    assert row is not None
    assert 'class="small text-body-secondary grid-readonly"' in row.group(0)
    assert "<input" not in row.group(0).replace('type="hidden"', "") and "<select" not in row.group(0)


def test_it_shows_a_closed_period_read_only_and_saves_nothing(client: Client, grid: Grid, head: User) -> None:
    with scope(organization=grid.world.org):
        Period.objects.filter(pk=grid.period.pk).update(state=Period.State.CLOSED)
    client.force_login(head)
    html = _page(client, grid)
    assert 'id="grid-closed"' in html and 'id="grid-save"' not in html
    client.post(reverse("rating-grid", args=[grid.period.pk]), _form(grid, GIVEN))
    with scope(organization=grid.world.org):
        assert Rating.objects.count() == 0


def test_it_filters_one_department_and_one_line(client: Client, grid: Grid, head: User) -> None:
    client.force_login(head)
    html = _page(client, grid, f"?department={grid.world.shift_dept.pk}&line=ETHIC")
    assert sorted(_rows(html)) == sorted(str(grid.sheet(k).pk) for k in ("employee", "op1", "op2"))
    assert html.count('class="grid-column"') == 1 and 'data-column="ETHIC"' in html
    # Saving the filtered grid touches its cells only.
    form = {_cell(grid, key, "ETHIC"): "88" for key in ("op1", "op2")}
    response = client.post(reverse("rating-grid", args=[grid.period.pk])
                           + f"?department={grid.world.shift_dept.pk}&line=ETHIC", form)
    assert response.status_code == 302
    with scope(organization=grid.world.org):
        assert sorted(Rating.objects.values_list("line__indicator__code", "actual")) == [("ETHIC", D("88"))] * 2


def test_it_offers_the_grid_of_one_sheet_from_the_sheet_page(client: Client, grid: Grid, head: User) -> None:
    client.force_login(head)
    sheet = grid.sheet("op1")
    html = client.get(reverse("sheet-detail", args=[sheet.pk])).content.decode()
    link = f'{reverse("rating-grid", args=[grid.period.pk])}?sheet={sheet.pk}'
    assert f'id="sheet-rate-all" href="{link}"' in html
    assert _rows(_page(client, grid, f"?sheet={sheet.pk}")) == [str(sheet.pk)]


def test_it_links_the_grid_from_the_heads_card_and_the_period_page(client: Client, grid: Grid, head: User) -> None:
    client.force_login(head)
    url = reverse("rating-grid", args=[grid.period.pk])
    assert f'class="ms-auto small own-rating" href="{url}"' in client.get("/").content.decode()
    assert f'id="period-my-ratings" href="{url}"' in client.get(
        reverse("period-detail", args=[grid.period.pk])).content.decode()


def test_it_answers_404_for_another_organisations_period(client: Client, grid: Grid, world_b: World,
                                                          outsider: User) -> None:
    client.force_login(outsider)
    url = reverse("rating-grid", args=[grid.period.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {}).status_code == 404


# --- the API -------------------------------------------------------------------------------------------


def _bulk_url(period: Period) -> str:
    return reverse("api-appraisal:period-ratings-bulk", kwargs={"period_pk": period.pk})


def _items(grid: Grid, given: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for key, (label, value) in given.items():
        items.append({"sheet": grid.sheet(key).pk, "line": grid.line(key, "WORK").pk, "rating": label})
        items.append({"line": grid.line(key, "ETHIC").pk, "actual": value})
    return items


def test_it_rates_a_whole_grid_through_the_api(api_for: Any, grid: Grid, head: User) -> None:
    response = api_for(head).post(_bulk_url(grid.period), {"ratings": _items(grid, GIVEN)}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["written"], body["unchanged"]) == (2 * len(GIVEN), 0)
    assert {row["id"] for row in body["sheets"]} == {grid.sheet(key).pk for key in GIVEN}
    by_api = scores(grid, grid.period)
    other = open_period(grid.world, grid.template, number=11)
    rate_many(grid, entries(grid, GIVEN, other), other)
    assert by_api == scores(grid, other)


def test_it_answers_400_with_each_bad_item_and_writes_nothing(api_for: Any, grid: Grid, head: User) -> None:
    items = _items(grid, GIVEN)
    items[2]["rating"] = "极好"
    items[5]["sheet"] = grid.sheet("op1").pk  # hr's line said to be on op1's sheet
    response = api_for(head).post(_bulk_url(grid.period), {"ratings": items}, format="json")
    assert response.status_code == 400
    errors = response.json()["ratings"]
    assert sorted(errors) == ["2", "5"]
    assert "hr-a" in errors["2"]["rating"][0] and "工作业绩" in errors["2"]["rating"][0]
    assert "colleague-a" in errors["5"]["sheet"][0]
    with scope(organization=grid.world.org):
        assert Rating.objects.count() == 0


def test_it_answers_400_for_an_item_without_a_rating(api_for: Any, grid: Grid, head: User) -> None:
    response = api_for(head).post(_bulk_url(grid.period), {"ratings": [{"line": grid.line("op1", "WORK").pk}]},
                                  format="json")
    assert response.status_code == 400
    assert "rating" in response.json()["ratings"]["0"]


def test_it_answers_409_once_the_period_is_closed(api_for: Any, grid: Grid, head: User) -> None:
    with scope(organization=grid.world.org):
        Period.objects.filter(pk=grid.period.pk).update(state=Period.State.CLOSED)
    response = api_for(head).post(_bulk_url(grid.period), {"ratings": _items(grid, GIVEN)}, format="json")
    assert response.status_code == 409


def test_it_answers_404_through_the_api_for_another_organisations_period(
    api_for: Any, grid: Grid, world_b: World, outsider: User,
) -> None:
    response = api_for(outsider).post(_bulk_url(grid.period), {"ratings": _items(grid, GIVEN)}, format="json")
    assert response.status_code == 404
    with scope(organization=grid.world.org):
        assert Rating.objects.count() == 0
