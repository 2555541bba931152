"""The working calendar page and API (issue #17): a year of working days, holidays and make-up days;
「导入法定节假日」 fills a year from chinesecalendar (idempotent, audited; a year it does not know
writes nothing and says which year); HR enters, changes and removes single days.

chinesecalendar 1.11 knows 2004–2026; 2031 stands for a year it does not know.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django_scopes import scope

from organizations import setup_services
from organizations.models import CalendarDay, CalendarYear, Organization, User
from tests.conftest import World

UNKNOWN_YEAR = 2031


def _in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def _days(org: Organization) -> list[tuple[dt.date, str]]:
    with scope(organization=org):
        return list(CalendarDay.objects.order_by("date").values_list("date", "kind"))


def _history_rows(org: Organization) -> int:
    with scope(organization=org):
        return CalendarDay.history.count()  # type: ignore[attr-defined,no-any-return]


# --- the page -----------------------------------------------------------------------------------


def test_it_fills_a_year_from_the_official_calendar(client: Client, hr: User, world_a: World) -> None:
    response = _in(client, hr).post(reverse("calendar-fill"), {"year": 2025})
    assert response.status_code == 302 and response["Location"].endswith("?year=2025")
    days = dict(_days(world_a.org))
    assert days[dt.date(2025, 10, 1)] == "holiday" and days[dt.date(2025, 9, 28)] == "workday"
    with scope(organization=world_a.org):
        assert CalendarYear.objects.get().year == 2025
        assert {row.history_user for row in CalendarDay.history.all()} == {hr}  # type: ignore[attr-defined]


def test_it_writes_nothing_when_a_year_is_filled_again(client: Client, hr: User, world_a: World) -> None:
    signed_in = _in(client, hr)
    signed_in.post(reverse("calendar-fill"), {"year": 2025})
    days, audit = _days(world_a.org), _history_rows(world_a.org)
    signed_in.post(reverse("calendar-fill"), {"year": 2025})
    assert _days(world_a.org) == days and _history_rows(world_a.org) == audit


def test_it_refuses_a_year_the_official_calendar_does_not_know(client: Client, hr: User, world_a: World) -> None:
    response = _in(client, hr).post(reverse("calendar-fill"), {"year": UNKNOWN_YEAR}, follow=True)
    shown = [str(message) for message in response.context["messages"]]
    assert any(str(UNKNOWN_YEAR) in message for message in shown)
    assert _days(world_a.org) == []
    with scope(organization=world_a.org):
        assert not CalendarYear.objects.exists()


def test_it_explains_an_unknown_year_in_chinese(client: Client, hr: User, world_a: World) -> None:
    # The message is the service's, already in the catalogue: 「……尚无官方节假日数据……」.
    with translation.override("zh-hans"):
        response = _in(client, hr).post(reverse("calendar-fill"), {"year": UNKNOWN_YEAR}, follow=True)
    message = " ".join(str(m) for m in response.context["messages"])
    assert str(UNKNOWN_YEAR) in message and any("\u4e00" <= ch <= "\u9fff" for ch in message)


def test_it_shows_the_year_with_its_holidays_and_working_days(client: Client, hr: User, world_a: World) -> None:
    signed_in = _in(client, hr)
    signed_in.post(reverse("calendar-fill"), {"year": 2025})
    response = signed_in.get(reverse("calendar"), {"year": 2025})
    # The count chinesecalendar itself gives for 2025 (chinese_calendar.get_workdays).
    assert response.context["working"] == 248
    html = response.content.decode()
    assert 'class="calendar-holiday text-bg-danger"\n                        data-date="2025-10-01"' in html
    assert 'id="calendar-fill-button"' in html


def test_it_says_a_year_has_no_data_yet(client: Client, employee: User, world_a: World) -> None:
    html = _in(client, employee).get(reverse("calendar"), {"year": 2026}).content.decode()
    assert 'id="calendar-missing"' in html and 'id="calendar-fill-button"' not in html


def test_it_refuses_an_employee_the_fill_button(client: Client, employee: User, world_a: World) -> None:
    assert _in(client, employee).post(reverse("calendar-fill"), {"year": 2025}).status_code == 403
    assert _days(world_a.org) == []


def test_it_enters_a_local_holiday(client: Client, hr: User, world_a: World) -> None:
    response = _in(client, hr).post(reverse("calendar-day-new"), {"date": "2025-05-12", "kind": "holiday",
                                                                  "name": "厂庆"})
    assert response.status_code == 302
    assert _days(world_a.org) == [(dt.date(2025, 5, 12), "holiday")]


def test_it_changes_and_removes_a_day_with_audit_rows(client: Client, hr: User, world_a: World) -> None:
    with scope(organization=world_a.org):
        day = setup_services.set_calendar_day(organization=world_a.org, acting_user=None, date=dt.date(2025, 10, 3),
                                              kind="holiday", name="国庆节")
    signed_in = _in(client, hr)
    signed_in.post(reverse("calendar-day-edit", args=[day.pk]), {"date": "2025-10-03", "kind": "workday",
                                                                 "name": "照常生产"})
    assert _days(world_a.org) == [(dt.date(2025, 10, 3), "workday")]
    signed_in.post(reverse("calendar-day-delete", args=[day.pk]))
    assert _days(world_a.org) == []
    with scope(organization=world_a.org):
        kinds = list(CalendarDay.history.order_by("history_id").values_list(  # type: ignore[attr-defined]
            "history_type", "history_user__username"))
    assert kinds == [("+", None), ("~", "hr"), ("-", "hr")]


# --- the API ------------------------------------------------------------------------------------


def test_it_fills_a_year_through_the_api(api_for: Any, hr: User, world_a: World) -> None:
    response = api_for(hr).post("/api/calendar-days/fill/", {"year": 2025}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["year"] == 2025 and body["added"] > 0 and body["kept"] == 0
    again = api_for(hr).post("/api/calendar-days/fill/", {"year": 2025}, format="json").json()
    assert again["added"] == 0 and again["kept"] == body["added"]
    years = api_for(hr).get("/api/calendar-days/years/").json()
    assert [row["year"] for row in years] == [2025]


def test_it_refuses_an_unknown_year_through_the_api(api_for: Any, hr: User, world_a: World) -> None:
    response = api_for(hr).post("/api/calendar-days/fill/", {"year": UNKNOWN_YEAR}, format="json")
    assert response.status_code == 400
    assert str(UNKNOWN_YEAR) in response.json()["year"][0]
    assert _days(world_a.org) == []


def test_it_refuses_an_employee_the_fill_action(api_for: Any, employee: User, world_a: World) -> None:
    assert api_for(employee).post("/api/calendar-days/fill/", {"year": 2025}, format="json").status_code == 403


def test_it_enters_and_lists_days_through_the_api(api_for: Any, hr: User, world_a: World) -> None:
    client = api_for(hr)
    created = client.post("/api/calendar-days/", {"date": "2025-05-12", "kind": "holiday", "name": "厂庆"},
                          format="json")
    assert created.status_code == 201
    listed = client.get("/api/calendar-days/", {"year": 2025}).json()
    assert [(row["date"], row["kind"]) for row in listed["results"]] == [("2025-05-12", "holiday")]
    moved = client.patch(f"/api/calendar-days/{created.json()['id']}/", {"date": "2025-05-13"}, format="json")
    assert moved.status_code == 400 and "date" in moved.json()


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_it_answers_404_for_another_organizations_day(api_for: Any, hr: User, world_b: World, method: str) -> None:
    with scope(organization=world_b.org):
        day = setup_services.set_calendar_day(organization=world_b.org, acting_user=None, date=dt.date(2025, 3, 8),
                                              kind="holiday")
    response = getattr(api_for(hr), method)(f"/api/calendar-days/{day.pk}/", {"kind": "workday"}, format="json")
    assert response.status_code == 404
    assert _days(world_b.org) == [(dt.date(2025, 3, 8), "holiday")]


@pytest.mark.parametrize("year", ["0", "10000", "1.5", "x"])
def test_it_answers_a_year_out_of_range_with_400(api_for: Any, hr: User, world_a: World, year: str) -> None:
    response = api_for(hr).get("/api/calendar-days/", {"year": year})
    assert response.status_code == 400
    assert "year" in response.json()
