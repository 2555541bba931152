"""The period state machine: every illegal transition is refused naming the current state; a
period past the entry states takes no more figures."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation
from django_scopes import scope

from appraisal import services
from appraisal.models import ENTRY_STATES, TRANSITIONS, Period, SheetLine
from indicators.services import build_template, create_indicator

STATES = list(Period.State.values)
ILLEGAL = [(state, target) for state in STATES for target in STATES if target not in TRANSITIONS[state]]
LIFE = ["open", "self_assessment", "scoring", "calibration", "closed", "published", "final"]


@pytest.fixture
def period(world_a):
    with scope(organization=world_a.org):
        create_indicator(organization=world_a.org, acting_user=None, code="OUT", name="产量", method="completion",
                         config={"cap_rate": "1.2"})
        template = build_template(organization=world_a.org, acting_user=None, spec={
            "code": "T", "name": "T", "subject_kind": "department",
            "parts": [{"code": "p", "name": "p", "weight": "1", "lines": [{"indicator": "OUT", "max_points": "100"}]}],
        })
        return services.create_period(organization=world_a.org, acting_user=None, kind="monthly", year=2025,
                                      number=10, templates=[template])


def test_it_lists_every_state_in_the_machine():
    assert set(TRANSITIONS) == set(STATES)


@pytest.mark.parametrize("state,target", ILLEGAL, ids=[f"{s}->{t}" for s, t in ILLEGAL])
def test_it_refuses_an_illegal_transition_naming_the_current_state(period, state, target):
    with scope(organization=period.organization):
        Period.objects.filter(pk=period.pk).update(state=state)
        label = str(Period.State(state).label)
        with pytest.raises(services.IllegalTransition, match=label):
            services.transition(period=period, to=target, acting_user=None)
        assert Period.objects.get(pk=period.pk).state == state


def test_it_walks_a_period_through_its_whole_life_with_an_audit_row_per_step(period, hr):
    with scope(organization=period.organization):
        for state in LIFE:
            services.transition(period=period, to=state, acting_user=hr)
        steps = list(Period.history.filter(id=period.pk).order_by("history_date")
                     .values_list("state", "history_change_reason"))
    assert [s for s, _ in steps[1:]] == LIFE  # after the creation row
    assert steps[-1][1] == "published → final"


def test_it_lets_only_one_of_two_racing_requests_take_a_step(period):
    with scope(organization=period.organization):
        stale = Period.objects.get(pk=period.pk)
        services.transition(period=period, to="open", acting_user=None)
        with pytest.raises(services.IllegalTransition):
            services.transition(period=stale, to="open", acting_user=None)  # the other request, a moment late


def test_it_names_the_state_in_english_for_an_english_user(period):
    with scope(organization=period.organization), translation.override("en"):
        with pytest.raises(services.IllegalTransition, match="it is draft"):
            services.transition(period=period, to="closed", acting_user=None)


@pytest.mark.parametrize("state", ["closed", "published", "final"])
def test_it_refuses_figures_once_the_period_is_closed(period, state):
    with scope(organization=period.organization):
        services.open_period(period=period, acting_user=None)
        services.generate_sheets(period=Period.objects.get(pk=period.pk))
        line = SheetLine.objects.first()
        Period.objects.filter(pk=period.pk).update(state=state)
        with pytest.raises(services.IllegalTransition, match=str(Period.State(state).label)):
            services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None,
                                 actual=Decimal("90"))
        assert SheetLine.objects.get(pk=line.pk).actual is None


def test_it_accepts_figures_in_every_entry_state(period):
    assert {s for s in STATES if Period(state=s).accepts_entries()} == set(ENTRY_STATES)


def test_it_moves_a_period_through_the_api(period, api_for, hr, django_capture_on_commit_callbacks):
    client = api_for(hr)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/periods/{period.pk}/transition/", {"to": "open"}, format="json").status_code == 200
    response = client.post(f"/api/periods/{period.pk}/transition/", {"to": "final"}, format="json")
    assert response.status_code == 409
    assert client.post(f"/api/periods/{period.pk}/transition/", {"to": "scoring"}, format="json").json()[
        "state"] == "scoring"


def test_it_answers_404_for_another_tenants_period_transition(period, api_for, outsider):
    response = api_for(outsider).post(f"/api/periods/{period.pk}/transition/", {"to": "open"}, format="json")
    assert response.status_code == 404
