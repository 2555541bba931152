"""Issue #18: the finalise step names the people whose publication notice did not reach them (linked
to the notice record), and the grading policy may extend their review window by N working days:
they may still appeal after the normal window ended, and the period is not finalised before."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from appraisal import appeals
from appraisal.models import Appeal, GradingPolicy, Period, Result
from appraisal.services import closing, window
from organizations import services as org_services
from organizations.models import Membership, Person, User
from organizations.notifications.models import Channel, Delivery
from tests.closing import add_people, close, make_policy, scored_period
from tests.conftest import World
from tests.test_notifications import at, members

PUBLISHED_AT = at(2025, 6, 10, 10, 0)  # the window (3 calendar days) ends 14 June 00:00


@pytest.fixture
def untold(world_a: World, django_capture_on_commit_callbacks: Any) -> tuple[Period, Membership, list[int]]:
    """A published period whose first signed-in person's email bounced; the others' notices were
    delivered just after publication. Returns the period, the bounced member, the people signed in."""
    people = add_people(world_a.org, world_a.production, 3)
    signed_in = members(world_a.org, people)
    period = scored_period(world_a.org, dict(zip(people, ["90", "80", "70"], strict=True)),
                           policy=make_policy(world_a.org, quotas=[]))
    close(period)
    with scope(organization=world_a.org):
        org_services.seed_calendar_year(organization=world_a.org, year=2025, acting_user=None)
        with django_capture_on_commit_callbacks(execute=True):
            window.publish(period=Period.objects.get(pk=period.pk), acting_user=None, now=PUBLISHED_AT)
        Delivery.objects.filter(channel=Channel.EMAIL).update(delivered_at=at(2025, 6, 10, 10, 1))
        bounced = signed_in[people[0].pk]
        Delivery.objects.filter(notification__recipient=bounced, channel=Channel.EMAIL).update(
            state=Delivery.State.FAILED, delivered_at=None)
        return Period.objects.get(pk=period.pk), bounced, list(signed_in)


def extend(period: Period, days: int) -> None:
    assert period.grading_policy_id is not None
    with scope(organization=period.organization):
        GradingPolicy.objects.filter(pk=period.grading_policy_id).update(untold_extension_days=days)


def test_it_names_the_untold_people_at_the_finalise_step_with_the_record_link(
        untold: Any, client: Client, hr: User) -> None:
    period, bounced, _signed_in = untold
    client.force_login(hr)
    record = reverse("notification-record", args=[period.pk])
    for page in (reverse("period-detail", args=[period.pk]), reverse("period-confirm", args=[period.pk, "finalise"])):
        html = client.get(page).content.decode()
        assert bounced.person.name in html and f'href="{record}"' in html


def test_it_leaves_out_of_the_finalise_step_the_people_whose_notice_was_delivered(untold: Any) -> None:
    from appraisal import period_steps

    period, _bounced, signed_in = untold
    with scope(organization=period.organization):
        notes = " ".join(note.text for note in period_steps._finalise_step(period, at(2025, 6, 14, 0, 0)).notes)
        told = list(Result.objects.filter(period=period, person_id__in=signed_in[1:]).values_list("person__name",
                                                                                                  flat=True))
    assert told and not any(name in notes for name in told)


def test_it_lets_an_untold_person_appeal_after_the_normal_window_when_the_policy_extends_it(untold: Any) -> None:
    period, bounced, _signed_in = untold
    extend(period, 2)  # Fri 13 June is the last day; Mon 16 and Tue 17 are the two working days
    with scope(organization=period.organization):
        result = Result.objects.get(period=period, person=bounced.person)
        appeal = appeals.file_appeal(result=result, acting_user=None, filed_by=bounced.person, reason="没收到通知",
                                     now=at(2025, 6, 17, 23, 59))
    assert appeal.state == Appeal.State.FILED


def test_it_still_refuses_an_appeal_after_the_normal_window_from_someone_who_was_told(untold: Any) -> None:
    period, _bounced, signed_in = untold
    extend(period, 2)
    with scope(organization=period.organization):
        told = Person.objects.get(pk=signed_in[1])
        result = Result.objects.get(period=period, person=told)
        with pytest.raises(appeals.AppealRefused):
            appeals.file_appeal(result=result, acting_user=None, filed_by=told, reason="x",
                                now=at(2025, 6, 16, 9, 0))


def test_it_refuses_an_untold_persons_appeal_after_their_extended_window(untold: Any) -> None:
    period, bounced, _signed_in = untold
    extend(period, 2)
    with scope(organization=period.organization):
        result = Result.objects.get(period=period, person=bounced.person)
        with pytest.raises(appeals.AppealRefused):
            appeals.file_appeal(result=result, acting_user=None, filed_by=bounced.person, reason="x",
                                now=at(2025, 6, 18, 0, 1))


def test_it_refuses_to_finalise_until_the_extended_window_ends_naming_who_and_when(untold: Any) -> None:
    period, bounced, _signed_in = untold
    extend(period, 2)
    with scope(organization=period.organization):
        with pytest.raises(closing.ClosureRefused, match="2025年6月18日 00:00") as refused:
            window.finalise(period=period, acting_user=None, now=at(2025, 6, 16, 9, 0))
        assert bounced.person.name in str(refused.value)
        assert Period.objects.get(pk=period.pk).state == Period.State.PUBLISHED
        final = window.finalise(period=period, acting_user=None, now=at(2025, 6, 18, 0, 0))
        confirmed = Result.objects.get(period=period, person=bounced.person).confirmed_at
    assert final.state == Period.State.FINAL and confirmed == at(2025, 6, 18, 0, 0)


def test_it_blocks_the_finalise_step_while_the_extended_window_is_open(untold: Any) -> None:
    from appraisal import period_steps

    period, bounced, _signed_in = untold
    extend(period, 2)
    with scope(organization=period.organization):
        step = period_steps._finalise_step(period, at(2025, 6, 16, 9, 0))
        later = period_steps._finalise_step(period, at(2025, 6, 18, 0, 0))
    assert not step.legal and any(bounced.person.name in blocker.text for blocker in step.blockers)
    assert later.legal


def test_it_finalises_at_the_normal_window_end_without_an_extension(untold: Any) -> None:
    period, _bounced, _signed_in = untold
    with scope(organization=period.organization):
        final = window.finalise(period=period, acting_user=None, now=at(2025, 6, 14, 0, 0))
    assert final.state == Period.State.FINAL


def test_it_takes_the_policys_window_extension_through_the_api(api_for: Any, hr: User, world_a: World) -> None:
    created = api_for(hr).post(reverse("api-appraisal:grading-policy-list"),
                               {"code": "EXT", "name": "延长", "untold_extension_days": 3,
                                "scale": {"bands": [{"grade": "A", "from": "0", "coefficient": "1"}]}}, format="json")
    assert created.status_code == 201, created.content
    with scope(organization=world_a.org):
        assert GradingPolicy.objects.get(code="EXT").untold_extension_days == 3


def test_it_offers_the_appeal_form_to_an_untold_person_during_their_extended_window(
        untold: Any, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    period, bounced, signed_in = untold
    extend(period, 2)
    monkeypatch.setattr("django.utils.timezone.now", lambda: at(2025, 6, 16, 9, 0))
    with scope(organization=period.organization):
        mine = Result.objects.get(period=period, person=bounced.person)
        told = Membership.objects.get(person_id=signed_in[1])
        theirs = Result.objects.get(period=period, person_id=signed_in[1])
    client.force_login(bounced.user)
    assert f'name="r{mine.pk}-reason"' in client.get(reverse("my-results")).content.decode()
    client.force_login(told.user)
    assert f'name="r{theirs.pk}-reason"' not in client.get(reverse("my-results")).content.decode()


def test_it_counts_on_the_results_the_same_people_it_names(untold: Any) -> None:
    from appraisal.services import extension

    period, bounced, signed_in = untold
    with scope(organization=period.organization):
        named = set(extension.untold(period).values_list("pk", flat=True))
        # Team and department results have no person: they are nobody to tell.
        with_person = set(Result.objects.filter(period=period, person__isnull=False).values_list("person_id",
                                                                                                flat=True))
        assert bounced.person_id in named and not named & set(signed_in[1:])
        assert named == with_person - set(signed_in[1:])
        assert extension.untold_count(period) == len(named)
