"""A sheet's special status (免考 exempt, 长期请假 long leave, 拒不参加 refused): HR sets it with a reason
through the service, the API and the pages; it is kept on the sheet and in its audit trail, refused
once the period is closed (naming the state), and it takes the sheet out of the incomplete ones, so
the close may go ahead.

The scheme (tests.test_appraisal_pages): OUTPUT a data line, WORK rated by self 0.2 (missing
counts as zero) and the supervisor 0.8; nobody has entered or rated anything, so every sheet of
the period is incomplete.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from appraisal import selectors, services
from appraisal.models import Period, Sheet
from appraisal.services import closing
from organizations.models import User
from tests.closing import make_policy
from tests.test_appraisal_pages import Scheme, build_scheme
from tests.test_results import url

REASON = "2026年11月入职，试用期内"


@pytest.fixture
def scheme(world_a: Any, hr: User, head: User, employee: User) -> Scheme:
    return build_scheme(world_a)


def _sheet(scheme: Scheme, person: str = "employee") -> Sheet:
    with scope(organization=scheme.world.org):
        return Sheet.objects.select_related("period").get(period=scheme.period, person=scheme.world.people[person])


def _set(scheme: Scheme, status: str, reason: str = REASON, *, user: User | None = None) -> Sheet:
    with scope(organization=scheme.world.org):
        return services.set_special_status(sheet=_sheet(scheme), status=status, reason=reason, acting_user=user)


def _incomplete(scheme: Scheme) -> set[int]:
    with scope(organization=scheme.world.org):
        return set(selectors.incomplete_sheets(Sheet.objects.filter(period=scheme.period))
                   .values_list("pk", flat=True))


# --- the service ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["exempt", "long_leave", "refused"])
def test_it_sets_a_special_status_with_its_reason(scheme: Scheme, hr: User, status: str) -> None:
    _set(scheme, status, user=hr)
    saved = _sheet(scheme)
    assert (saved.special_status, saved.special_reason) == (status, REASON)


def test_it_keeps_who_and_why_in_the_audit_trail(scheme: Scheme, hr: User) -> None:
    _set(scheme, "exempt", user=hr)
    with scope(organization=scheme.world.org):
        row = Sheet.history.filter(id=_sheet(scheme).pk).order_by("-history_date").first()
    assert row is not None and row.history_user == hr and row.special_status == "exempt"
    assert REASON in row.history_change_reason


def test_it_writes_nothing_when_neither_status_nor_reason_changes(scheme: Scheme, hr: User) -> None:
    _set(scheme, "exempt", user=hr)
    with scope(organization=scheme.world.org):
        before = Sheet.history.filter(id=_sheet(scheme).pk).count()
    _set(scheme, "exempt", user=hr)
    with scope(organization=scheme.world.org):
        assert Sheet.history.filter(id=_sheet(scheme).pk).count() == before


def test_it_refuses_a_status_without_a_reason(scheme: Scheme) -> None:
    with pytest.raises(services.StatusRefused):
        _set(scheme, "exempt", reason="  ")
    assert _sheet(scheme).special_status == "normal"


def test_it_refuses_an_unknown_status(scheme: Scheme) -> None:
    with pytest.raises(services.StatusRefused, match="holiday"):
        _set(scheme, "holiday")


@pytest.mark.parametrize("state", ["closed", "published", "final"])
def test_it_refuses_a_status_once_the_period_is_closed_naming_the_state(scheme: Scheme, state: str) -> None:
    with scope(organization=scheme.world.org):
        Period.objects.filter(pk=scheme.period.pk).update(state=state)
    with pytest.raises(services.IllegalTransition, match=str(Period.State(state).label)):
        _set(scheme, "exempt")
    assert _sheet(scheme).special_status == "normal"


def test_it_takes_the_sheet_out_of_the_incomplete_ones(scheme: Scheme) -> None:
    assert _sheet(scheme).pk in _incomplete(scheme)
    _set(scheme, "long_leave")
    assert _sheet(scheme).pk not in _incomplete(scheme)


def test_it_puts_the_sheet_back_among_the_incomplete_when_set_back_to_normal(scheme: Scheme) -> None:
    _set(scheme, "exempt")
    _set(scheme, "normal", reason="试用期结束，恢复考核")
    assert _sheet(scheme).pk in _incomplete(scheme)


def test_it_lets_the_period_close_once_every_incomplete_sheet_has_a_status(scheme: Scheme) -> None:
    policy = make_policy(scheme.world.org, quotas=[], status_grades={"exempt": "B"})
    with scope(organization=scheme.world.org):
        Period.objects.filter(pk=scheme.period.pk).update(state="calibration", grading_policy=policy)
        period = Period.objects.get(pk=scheme.period.pk)
        with pytest.raises(closing.IncompleteSheets):
            closing.start_close(period=period, acting_user=None)
        for sheet in Sheet.objects.filter(period=period):
            services.set_special_status(sheet=sheet, status="exempt", reason="本月停产检修", acting_user=None)
        job = closing.start_close(period=period, acting_user=None)
        closing.run_close(job=job)
        assert Period.objects.get(pk=period.pk).state == Period.State.CLOSED


# --- the API --------------------------------------------------------------------------------------


def test_it_sets_a_status_through_the_api(scheme: Scheme, api_for: Any, hr: User) -> None:
    response = api_for(hr).post(url("sheet-status", _sheet(scheme).pk), {"status": "refused", "reason": "拒签考核表"},
                                format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["special_status"], response.json()["special_reason"]) == ("refused", "拒签考核表")


def test_it_answers_400_through_the_api_without_a_reason(scheme: Scheme, api_for: Any, hr: User) -> None:
    response = api_for(hr).post(url("sheet-status", _sheet(scheme).pk), {"status": "exempt"}, format="json")
    assert response.status_code == 400 and "reason" in response.json()


def test_it_answers_409_through_the_api_once_closed_naming_the_state(scheme: Scheme, api_for: Any, hr: User) -> None:
    with scope(organization=scheme.world.org):
        Period.objects.filter(pk=scheme.period.pk).update(state="closed")
    response = api_for(hr).post(url("sheet-status", _sheet(scheme).pk), {"status": "exempt", "reason": REASON},
                                format="json")
    assert response.status_code == 409
    assert str(Period.State.CLOSED.label) in response.json()["detail"]


def test_it_forbids_a_head_to_set_a_status_through_the_api(scheme: Scheme, api_for: Any, head: User) -> None:
    response = api_for(head).post(url("sheet-status", _sheet(scheme).pk), {"status": "exempt", "reason": REASON},
                                  format="json")
    assert response.status_code == 403
    assert _sheet(scheme).special_status == "normal"


def test_it_answers_404_to_another_organisations_hr(scheme: Scheme, api_for: Any, outsider: User) -> None:
    response = api_for(outsider).post(url("sheet-status", _sheet(scheme).pk), {"status": "exempt", "reason": REASON},
                                      format="json")
    assert response.status_code == 404


# --- the pages ------------------------------------------------------------------------------------


def test_it_offers_hr_the_status_form_on_the_sheet_page(scheme: Scheme, client: Client, hr: User) -> None:
    client.force_login(hr)
    html = client.get(reverse("sheet-detail", args=[_sheet(scheme).pk])).content.decode()
    assert 'id="sheet-status-form"' in html and "免考" in html and "长期请假" in html and "拒不参加" in html


def test_it_hides_the_status_form_from_a_head(scheme: Scheme, client: Client, head: User) -> None:
    client.force_login(head)
    html = client.get(reverse("sheet-detail", args=[_sheet(scheme).pk])).content.decode()
    assert 'id="sheet-status-form"' not in html


def test_it_sets_a_status_from_the_sheet_page(scheme: Scheme, client: Client, hr: User) -> None:
    client.force_login(hr)
    sheet = _sheet(scheme)
    response = client.post(reverse("sheet-status", args=[sheet.pk]), {"status": "exempt", "reason": REASON},
                           follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0].endswith(f"/sheets/{sheet.pk}/#sheet-status")
    assert "alert-success" in html and REASON in html
    assert _sheet(scheme).special_status == "exempt"


def test_it_shows_why_a_status_is_refused_on_the_page(scheme: Scheme, client: Client, hr: User) -> None:
    client.force_login(hr)
    response = client.post(reverse("sheet-status", args=[_sheet(scheme).pk]), {"status": "exempt", "reason": ""},
                           follow=True)
    assert "alert-danger" in response.content.decode()
    assert _sheet(scheme).special_status == "normal"


def test_it_forbids_a_head_to_set_a_status_from_the_page(scheme: Scheme, client: Client, head: User) -> None:
    client.force_login(head)
    response = client.post(reverse("sheet-status", args=[_sheet(scheme).pk]), {"status": "exempt", "reason": REASON})
    assert response.status_code == 403


def test_it_sets_a_status_from_the_incomplete_list_and_comes_back_to_it(scheme: Scheme, client: Client,
                                                                          hr: User) -> None:
    policy = make_policy(scheme.world.org, quotas=[])
    with scope(organization=scheme.world.org):
        Period.objects.filter(pk=scheme.period.pk).update(state="calibration", grading_policy=policy)
    client.force_login(hr)
    page = reverse("period-confirm", args=[scheme.period.pk, "close_anyway"])
    html = client.get(page).content.decode()
    sheet = _sheet(scheme)
    assert f'id="incomplete-{sheet.pk}"' in html and reverse("sheet-status", args=[sheet.pk]) in html
    response = client.post(reverse("sheet-status", args=[sheet.pk]),
                           {"status": "long_leave", "reason": "病假三个月", "next": page})
    assert response.status_code == 302 and response["Location"] == page
    assert _sheet(scheme).special_status == "long_leave"
    assert f'id="incomplete-{sheet.pk}"' not in client.get(page).content.decode()


def test_it_never_sends_the_status_form_back_to_another_site(scheme: Scheme, client: Client, hr: User) -> None:
    client.force_login(hr)
    sheet = _sheet(scheme)
    response = client.post(reverse("sheet-status", args=[sheet.pk]),
                           {"status": "exempt", "reason": REASON, "next": "https://evil.example/"})
    assert response["Location"].endswith(f"/sheets/{sheet.pk}/#sheet-status")
