"""Appeals: filed by the employee inside the window against a line or the grade, the supervisor's
opinion, then the final answer of HR or the supervision group (S1-3); upheld → regraded population."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope

from appraisal import appeals, services
from appraisal.appeal_lines import DecisionDataRefused
from appraisal.models import Appeal, Period, Result, SheetLine
from appraisal.services import window
from appraisal.signals import results_changed
from organizations.models import ReviewGroup
from tests.closing import add_people, close, make_policy, results, scored_period
from tests.conftest import membership_of


@pytest.fixture
def contest(world_a, supervisor):
    """20 people; S ≤ 5 % is one place. The top scores 95 (S); the appellant 89 (A)."""
    people = add_people(world_a.org, world_a.production, 20)
    scores = dict(zip(people, ["95", "89"] + ["75"] * 18, strict=True))
    with scope(organization=world_a.org):
        group = ReviewGroup.objects.get(code="SUP")
    period = scored_period(world_a.org, scores, policy=make_policy(world_a.org, appeal_group=group))
    close(period)
    with scope(organization=world_a.org):
        window.publish(period=period, acting_user=None)
        result = Result.objects.get(period=period, person=people[1])
    return period, people, result


def file(contest: Any, **kwargs: Any) -> Appeal:
    period, people, result = contest
    with scope(organization=period.organization):
        return appeals.file_appeal(result=result, acting_user=None, filed_by=people[1],
                                   reason=kwargs.pop("reason", "安全奖励加分未计入"), **kwargs)


def forwarded(contest: Any, head: Any) -> Appeal:
    appeal = file(contest)
    with scope(organization=contest[0].organization):
        return appeals.forward_appeal(appeal=appeal, acting_user=head, opinion="情况属实")


def test_it_files_an_appeal_against_a_line_with_an_attachment(contest):
    period, _people, result = contest
    with scope(organization=period.organization):
        line = SheetLine.objects.get(sheet=result.sheet)
    appeal = file(contest, line=line, attachment=SimpleUploadedFile("证明.pdf", b"%PDF-1.4 evidence"))
    assert (appeal.line_id, appeal.state) == (line.pk, Appeal.State.FILED)
    assert appeal.attachment.read() == b"%PDF-1.4 evidence"


def test_it_refuses_an_appeal_against_a_line_of_another_sheet(contest):
    period, people, _result = contest
    with scope(organization=period.organization):
        other = SheetLine.objects.get(sheet__period=period, sheet__person=people[0])
    with pytest.raises(appeals.AppealRefused):
        file(contest, line=other)


def test_it_refuses_an_appeal_by_someone_the_result_does_not_concern(contest):
    period, people, result = contest
    with scope(organization=period.organization), pytest.raises(appeals.AppealRefused):
        appeals.file_appeal(result=result, acting_user=None, filed_by=people[0], reason="x")


def test_it_refuses_a_second_open_appeal_on_the_same_result(contest):
    file(contest)
    with pytest.raises(appeals.AppealRefused):
        file(contest)


def test_it_refuses_an_appeal_before_publication_naming_the_state(world_a):
    people = add_people(world_a.org, world_a.production, 1)
    period = scored_period(world_a.org, {people[0]: "80"}, policy=make_policy(world_a.org, quotas=[]))
    close(period)
    with scope(organization=world_a.org):
        result = Result.objects.get(period=period, person=people[0])
        with pytest.raises(appeals.AppealRefused, match=str(Period.State.CLOSED.label)):
            appeals.file_appeal(result=result, acting_user=None, filed_by=people[0], reason="x")


def test_it_refuses_a_final_decision_before_the_supervisors_opinion(contest, hr):
    appeal = file(contest)
    with scope(organization=contest[0].organization), pytest.raises(services.IllegalTransition):
        appeals.decide_appeal(appeal=appeal, acting_user=hr, upheld=False, reason="x")


def test_it_rejects_an_appeal_with_the_reason_kept_for_the_employee(contest, head, hr):
    appeal = forwarded(contest, head)
    with scope(organization=contest[0].organization):
        decided = appeals.decide_appeal(appeal=appeal, acting_user=hr, upheld=False, reason="加分材料不足")
        assert Result.objects.get(pk=contest[2].pk).grade == "A"
    assert (decided.state, decided.decision_reason, decided.new_score) == (Appeal.State.REJECTED, "加分材料不足", None)


def test_it_upholds_an_appeal_changing_the_grade_and_regrading_the_population(contest, head, supervisor):
    period, people, _result = contest
    appeal = forwarded(contest, head)
    with scope(organization=period.organization):
        appeals.decide_appeal(appeal=appeal, acting_user=supervisor, upheld=True, reason="材料属实",
                              new_score=Decimal("96"))
    found = results(period)
    # One S place: the appellant now tops the ranking at 96 and the former top (95) falls to A.
    assert (found[people[1].name].final_score, found[people[1].name].grade) == (Decimal("96.00"), "S")
    assert found[people[0].name].grade == "A"


def test_it_audits_the_upheld_appeal_on_the_result(contest, head, hr):
    period, _people, result = contest
    appeal = forwarded(contest, head)
    with scope(organization=period.organization):
        appeals.decide_appeal(appeal=appeal, acting_user=hr, upheld=True, reason="材料属实", new_score=Decimal("96"))
        rows = list(Result.history.filter(id=result.pk).order_by("history_date"))
    assert [(r.grade, r.history_user) for r in rows][-1] == ("S", hr)
    assert any("材料属实" in (r.history_change_reason or "") for r in rows)


def test_it_tells_payroll_which_results_an_upheld_appeal_changed(contest, head, hr,
                                                                django_capture_on_commit_callbacks):
    period, people, result = contest
    appeal = forwarded(contest, head)
    heard: list[dict[str, Any]] = []

    def listener(**kwargs: Any) -> None:
        heard.append(kwargs)

    results_changed.connect(listener)
    try:
        with scope(organization=period.organization), django_capture_on_commit_callbacks(execute=True):
            appeals.decide_appeal(appeal=appeal, acting_user=hr, upheld=True, reason="属实", new_score=Decimal("96"))
            top = Result.objects.get(period=period, person=people[0])
    finally:
        results_changed.disconnect(listener)
    assert [(h["reason"], h["result_ids"]) for h in heard] == [("appeal", sorted([result.pk, top.pk]))]


def test_it_lets_only_hr_or_the_appeal_group_decide(contest, head, hr, supervisor, employee):
    appeal = forwarded(contest, head)
    with scope(organization=contest[0].organization):
        appeal = Appeal.objects.select_related("result__period__grading_policy", "filed_by").get(pk=appeal.pk)
        allowed = {user.username: appeals.may_decide(appeal, is_hr=user == hr, user=user)
                   for user in (hr, supervisor, head, employee)}
    assert allowed == {"hr": True, "supervisor": True, "head": False, "employee": False}


def test_it_routes_an_appeal_to_the_head_of_the_appellants_department(contest, head):
    appeal = file(contest)
    with scope(organization=contest[0].organization):
        appeal = Appeal.objects.select_related("result__person").get(pk=appeal.pk)
        assert head.pk in appeals.supervisor_user_ids(appeal)
        assert membership_of(head, contest[0].organization).headships.exists()


def test_it_refuses_a_second_decision_naming_the_state(contest, head, hr):
    appeal = forwarded(contest, head)
    with scope(organization=contest[0].organization):
        appeals.decide_appeal(appeal=appeal, acting_user=hr, upheld=False, reason="x")
        with pytest.raises(services.IllegalTransition, match=str(Appeal.State.REJECTED.label)):
            appeals.decide_appeal(appeal=appeal, acting_user=hr, upheld=True, reason="y", new_score=Decimal("90"))


def test_it_decides_an_appeal_filed_in_time_after_the_window_has_ended(contest, head, hr):
    period, _people, _result = contest
    appeal = forwarded(contest, head)
    with scope(organization=period.organization):
        Period.objects.filter(pk=period.pk).update(window_ends_at=period.window_ends_at - dt.timedelta(days=10))
        decided = appeals.decide_appeal(appeal=appeal, acting_user=hr, upheld=True, reason="x",
                                        new_score=Decimal("90"))
    assert decided.state == Appeal.State.UPHELD


def test_it_lets_the_head_of_a_parent_department_give_the_opinion(world_a, head):
    # The head runs 生产部; the appellant works in its sub-department 运行部.
    people = add_people(world_a.org, world_a.shift_dept, 1, prefix="s")
    period = scored_period(world_a.org, {people[0]: "80"}, policy=make_policy(world_a.org, quotas=[]))
    close(period)
    with scope(organization=world_a.org):
        window.publish(period=period, acting_user=None)
        appeal = appeals.file_appeal(result=Result.objects.get(period=period, person=people[0]), acting_user=None,
                                     filed_by=people[0], reason="x")
        appeal = Appeal.objects.select_related("result__person").get(pk=appeal.pk)
        assert head.pk in appeals.supervisor_user_ids(appeal)


def test_it_refuses_to_uphold_an_appeal_against_the_grade_without_a_score_naming_the_field(contest, head, hr):
    appeal = forwarded(contest, head)
    with scope(organization=contest[0].organization), pytest.raises(DecisionDataRefused) as refused:
        appeals.decide_appeal(appeal=appeal, acting_user=hr, upheld=True, reason="属实")
    assert refused.value.field == "new_score"


def test_it_names_who_answered_when_refusing_a_second_decision(contest, head, hr, supervisor):
    appeal = forwarded(contest, head)
    with scope(organization=contest[0].organization):
        appeals.decide_appeal(appeal=appeal, acting_user=supervisor, upheld=False, reason="材料不足")
        with pytest.raises(services.IllegalTransition, match=str(supervisor)):
            appeals.decide_appeal(appeal=appeal, acting_user=hr, upheld=True, reason="y", new_score=Decimal("90"))
