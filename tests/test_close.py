"""The period close: results written once, graded by forced distribution over the configured
population, special statuses, consecutive-period rules, and calibration within the cap."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django_scopes import scope

from appraisal import grading, services
from appraisal.models import Period, Result, Sheet
from appraisal.services import close_parts, closing, window
from appraisal.signals import results_changed
from appraisal.tasks import close_period_task
from organizations.models import Job
from tests.closing import add_people, close, grades, make_policy, results, scored_period

# 30 people, after S1-4: S ≤ 5 %, A ≤ 15 %, B ≥ 70 %, C ≤ 10 %.
#   S band (≥ 90): 98, 96, 93, 91                 4 people; S cap 30 × 5 % = 1.5 → 2 (half up)
#   A band (80–89): 89, 88, 87, 86, 85, 84        6 people; with the two who fall from S, 8 want A,
#                                                  A cap 30 × 15 % = 4.5 → 5: 86, 85, 84 fall to B
#   B band (70–79): 17 people 79.5 … 71.5          B 17 + 3 = 20, short of 30 × 70 % = 21 → reported
#   C band (< 70): 69, 65, 60                      3 people; C cap 30 × 10 % = 3: fine
S_BAND = ["98", "96", "93", "91"]
A_BAND = ["89", "88", "87", "86", "85", "84"]
B_BAND = [str(Decimal("79.5") - Decimal("0.5") * i) for i in range(17)]
C_BAND = ["69", "65", "60"]
THIRTY = S_BAND + A_BAND + B_BAND + C_BAND


@pytest.fixture
def thirty(world_a):
    people = add_people(world_a.org, world_a.production, 30)
    return {person: score for person, score in zip(people, THIRTY, strict=True)}


def by_score(period: Period) -> dict[str, str]:
    with scope(organization=period.organization):
        return {format(r.raw_score, "f"): r.grade for r in Result.objects.filter(period=period, status="normal")}


def test_it_grades_thirty_people_with_half_up_quotas_and_demotion(world_a, thirty):
    period = scored_period(world_a.org, thirty, policy=make_policy(world_a.org))
    job = close(period)
    assert job.state == Job.State.DONE
    graded = by_score(period)
    assert [graded[s] for s in ["98.00", "96.00"]] == ["S", "S"]
    assert [graded[s] for s in ["93.00", "91.00", "89.00", "88.00", "87.00"]] == ["A"] * 5
    assert [graded[s] for s in ["86.00", "85.00", "84.00"]] == ["B"] * 3
    assert [graded[s] for s in ["69.00", "65.00", "60.00"]] == ["C"] * 3


def test_it_rounds_quota_counts_down_when_the_policy_says_so(world_a, thirty):
    period = scored_period(world_a.org, thirty, policy=make_policy(world_a.org, rounding="down"))
    close(period)
    graded = by_score(period)
    # S cap 1.5 → 1, A cap 4.5 → 4: 96 falls to A, then 96, 93, 91, 89 keep A and 88 falls to B.
    assert graded["98.00"] == "S"
    assert [graded[s] for s in ["96.00", "93.00", "91.00", "89.00"]] == ["A"] * 4
    assert graded["88.00"] == "B"


def test_it_stores_the_coefficient_and_explains_a_demotion(world_a, thirty):
    period = scored_period(world_a.org, thirty, policy=make_policy(world_a.org))
    close(period)
    with scope(organization=world_a.org):
        demoted = Result.objects.get(period=period, raw_score=Decimal("93"))
    assert (demoted.band_grade, demoted.grade, demoted.coefficient) == ("S", "A", Decimal("1.1000"))
    assert "排名第 3（共 4 人）→ 降为 A" in demoted.explanation  # stored in the language of whoever closed


def test_it_keeps_the_shortfall_of_a_minimum_for_calibration_without_blocking_publication(world_a, thirty):
    period = scored_period(world_a.org, thirty, policy=make_policy(world_a.org))
    close(period)
    with scope(organization=world_a.org):
        assert Result.objects.filter(period=period, grade="B").count() == 20  # 21 required: reported, not forced
        window.publish(period=period, acting_user=None)
        assert Period.objects.get(pk=period.pk).state == Period.State.PUBLISHED


def test_it_reports_a_tie_at_a_quota_line_and_refuses_to_publish_until_calibrated(world_a):
    people = add_people(world_a.org, world_a.production, 20)
    # S cap 20 × 5 % = 1 place, two people at 95: neither is demoted silently.
    scores = dict(zip(people, ["95", "95"] + ["75"] * 18, strict=True))
    period = scored_period(world_a.org, scores, policy=make_policy(world_a.org))
    close(period)
    tied = [people[0].name, people[1].name]
    found = results(period)
    assert [found[n].grade for n in tied] == ["S", "S"]
    assert all(found[n].needs_calibration for n in tied)
    with scope(organization=world_a.org), pytest.raises(closing.ClosureRefused, match=people[0].name):
        window.publish(period=period, acting_user=None)


def test_it_resolves_a_tie_when_hr_calibrates_one_score(world_a, hr):
    people = add_people(world_a.org, world_a.production, 20)
    scores = dict(zip(people, ["95", "95"] + ["75"] * 18, strict=True))
    period = scored_period(world_a.org, scores, policy=make_policy(world_a.org))
    close(period)
    with scope(organization=world_a.org):
        second = Result.objects.get(period=period, person=people[1])
        closing.calibrate(result=second, score=Decimal("94.50"), reason="民主测评较低", acting_user=hr)
        window.publish(period=period, acting_user=hr)
    found = results(period)
    assert (found[people[0].name].grade, found[people[1].name].grade) == ("S", "A")
    assert not any(r.needs_calibration for r in found.values())


def test_it_refuses_a_calibration_beyond_five_percent(world_a, hr):
    people = add_people(world_a.org, world_a.production, 3)
    period = scored_period(world_a.org, dict(zip(people, ["80", "75", "70"], strict=True)),
                           policy=make_policy(world_a.org))
    close(period)
    with scope(organization=world_a.org):
        result = Result.objects.get(period=period, person=people[0])
        with pytest.raises(grading.CalibrationError, match="84"):
            closing.calibrate(result=result, score=Decimal("84.01"), reason="x", acting_user=hr)
        assert Result.objects.get(pk=result.pk).calibrated_score is None


def test_it_accepts_a_calibration_at_exactly_five_percent_and_regrades(world_a, hr):
    people = add_people(world_a.org, world_a.production, 3)
    period = scored_period(world_a.org, dict(zip(people, ["80", "75", "70"], strict=True)),
                           policy=make_policy(world_a.org, quotas=[]))
    close(period)
    with scope(organization=world_a.org):
        result = Result.objects.get(period=period, person=people[1])
        calibrated = closing.calibrate(result=result, score=Decimal("78.75"), reason="补充材料", acting_user=hr)
    assert (calibrated.final_score, calibrated.grade) == (Decimal("78.75"), "B")


def test_it_audits_a_calibration_with_who_old_new_and_why(world_a, hr):
    people = add_people(world_a.org, world_a.production, 2)
    period = scored_period(world_a.org, dict(zip(people, ["79", "60"], strict=True)),
                           policy=make_policy(world_a.org, quotas=[]))
    close(period)
    with scope(organization=world_a.org):
        result = Result.objects.get(period=period, person=people[0])
        closing.calibrate(result=result, score=Decimal("80.00"), reason="加分项漏记", acting_user=hr)
        rows = list(Result.history.filter(id=result.pk).order_by("history_date"))
    assert rows[0].grade == "B" and rows[-1].grade == "A"
    calibration = next(r for r in rows if r.calibrated_score is not None)
    assert (calibration.history_user, calibration.history_change_reason) == (hr, "加分项漏记")


def test_it_refuses_a_calibration_without_a_reason(world_a, hr):
    people = add_people(world_a.org, world_a.production, 1)
    period = scored_period(world_a.org, {people[0]: "80"}, policy=make_policy(world_a.org, quotas=[]))
    close(period)
    with scope(organization=world_a.org), pytest.raises(closing.ClosureRefused):
        result = Result.objects.get(period=period, person=people[0])
        closing.calibrate(result=result, score=Decimal("81"), reason=" ", acting_user=hr)


def test_it_refuses_a_calibration_after_publication_naming_the_state(world_a, hr):
    people = add_people(world_a.org, world_a.production, 1)
    period = scored_period(world_a.org, {people[0]: "80"}, policy=make_policy(world_a.org, quotas=[]))
    close(period)
    with scope(organization=world_a.org):
        window.publish(period=period, acting_user=hr)
        with pytest.raises(services.IllegalTransition, match=str(Period.State.PUBLISHED.label)):
            result = Result.objects.get(period=period, person=people[0])
            closing.calibrate(result=result, score=Decimal("81"), reason="x", acting_user=hr)


# --- one result, however often the close runs ------------------------------------------------------


def test_it_writes_one_result_per_sheet_and_moves_the_period_to_closed(world_a, thirty):
    period = scored_period(world_a.org, thirty, policy=make_policy(world_a.org))
    close(period)
    with scope(organization=world_a.org):
        assert Result.objects.filter(period=period).count() == Sheet.objects.filter(period=period).count()
        closed = Period.objects.get(pk=period.pk)
    assert closed.state == Period.State.CLOSED and closed.results_at is not None


def test_it_gives_one_result_when_the_task_is_delivered_twice(world_a, thirty):
    period = scored_period(world_a.org, thirty, policy=make_policy(world_a.org))
    with scope(organization=world_a.org):
        job = closing.start_close(period=period, acting_user=None)
        first = list(Result.objects.filter(period=period).values_list("pk", flat=True))
    assert first == []  # on_commit has not fired inside the test transaction
    close_period_task.apply(kwargs={"organization_id": world_a.org.pk, "job_id": job.pk})
    with scope(organization=world_a.org):
        before = sorted(Result.objects.filter(period=period).values_list("pk", "grade"))
    close_period_task.apply(kwargs={"organization_id": world_a.org.pk, "job_id": job.pk})  # redelivered
    with scope(organization=world_a.org):
        after = sorted(Result.objects.filter(period=period).values_list("pk", "grade"))
    assert before == after and len(after) == 35  # 30 + the world's 5 (exempt)


def test_it_refuses_a_second_close_naming_the_state(world_a, thirty):
    period = scored_period(world_a.org, thirty, policy=make_policy(world_a.org))
    close(period)
    with scope(organization=world_a.org), pytest.raises(services.IllegalTransition,
                                                        match=str(Period.State.CLOSED.label)):
        closing.start_close(period=period, acting_user=None)


def test_it_returns_the_running_job_for_a_double_click(world_a, thirty):
    period = scored_period(world_a.org, thirty, policy=make_policy(world_a.org))
    with scope(organization=world_a.org):
        first = closing.start_close(period=period, acting_user=None)
        second = closing.start_close(period=period, acting_user=None)
    assert first.pk == second.pk


def test_it_leaves_nothing_when_the_close_dies_mid_write(world_a, thirty, monkeypatch):
    period = scored_period(world_a.org, thirty, policy=make_policy(world_a.org))

    def die(**kwargs: Any) -> None:
        raise RuntimeError("worker killed")

    monkeypatch.setattr(close_parts, "transition", die)  # in the last step, which writes the results
    with pytest.raises(RuntimeError):
        close(period)
    with scope(organization=world_a.org):
        assert not Result.objects.filter(period=period).exists()
        assert Period.objects.get(pk=period.pk).state == Period.State.CALIBRATION
    monkeypatch.undo()
    with scope(organization=world_a.org):
        job = Job.objects.get(kind=closing.CLOSE_JOB)  # the dead run's job, redelivered
        closing.run_close(job=job)
        assert Result.objects.filter(period=period).count() == 35


def test_it_refuses_to_close_with_an_unscored_sheet_naming_it_and_writes_nothing(world_a):
    # The refusal comes when HR asks, before any job starts (it used to come from the job): the
    # incomplete sheets are counted and the first ones named (appraisal.selectors.incomplete_sheets).
    people = add_people(world_a.org, world_a.production, 3)
    period = scored_period(world_a.org, dict(zip(people, ["80", None, "70"], strict=True)),
                           policy=make_policy(world_a.org))
    with scope(organization=world_a.org), pytest.raises(closing.IncompleteSheets, match=people[1].name) as refused:
        closing.start_close(period=period, acting_user=None)
    assert refused.value.count == 1
    with scope(organization=world_a.org):
        assert not Result.objects.filter(period=period).exists()
        assert not Job.objects.filter(kind=closing.CLOSE_JOB).exists()
        assert Period.objects.get(pk=period.pk).state == Period.State.CALIBRATION


def test_it_refuses_to_start_a_close_without_a_grading_policy(world_a):
    people = add_people(world_a.org, world_a.production, 1)
    period = scored_period(world_a.org, {people[0]: "80"}, policy=None)
    with scope(organization=world_a.org), pytest.raises(closing.ClosureRefused):
        closing.start_close(period=period, acting_user=None)


def test_it_rescores_sheets_at_close_so_a_stale_score_is_not_graded(world_a):
    people = add_people(world_a.org, world_a.production, 1)
    period = scored_period(world_a.org, {people[0]: "91"}, policy=make_policy(world_a.org, quotas=[]))
    with scope(organization=world_a.org):
        Sheet.objects.filter(period=period, person=people[0]).update(score=Decimal("10"))  # stale
    close(period)
    assert results(period)[people[0].name].final_score == Decimal("91.00")


def test_it_tells_payroll_once_the_results_are_committed(world_a, django_capture_on_commit_callbacks):
    people = add_people(world_a.org, world_a.production, 2)
    period = scored_period(world_a.org, dict(zip(people, ["80", "70"], strict=True)),
                           policy=make_policy(world_a.org, quotas=[]))
    heard: list[dict[str, Any]] = []

    def listener(**kwargs: Any) -> None:
        heard.append(kwargs)

    results_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            close(period)
    finally:
        results_changed.disconnect(listener)
    assert [(h["period"].pk, h["reason"], len(h["result_ids"])) for h in heard] == [(period.pk, "closed", 7)]


def test_it_never_touches_another_organisations_period(world_a, world_b):
    people_a = add_people(world_a.org, world_a.production, 2)
    people_b = add_people(world_b.org, world_b.production, 2, prefix="b")
    period_a = scored_period(world_a.org, dict(zip(people_a, ["80", "70"], strict=True)),
                             policy=make_policy(world_a.org))
    period_b = scored_period(world_b.org, dict(zip(people_b, ["80", "70"], strict=True)),
                             policy=make_policy(world_b.org))
    close(period_a)
    with scope(organization=world_b.org):
        assert Period.objects.get(pk=period_b.pk).state == Period.State.CALIBRATION
        assert not Result.objects.filter(period=period_b).exists()


# --- populations and special statuses -----------------------------------------------------------


def test_it_applies_quotas_within_each_department_when_the_policy_says_so(world_a):
    production = add_people(world_a.org, world_a.production, 2, prefix="p")
    office = add_people(world_a.org, world_a.back_office, 2, prefix="o")
    scores = dict(zip(production + office, ["95", "94", "93", "92"], strict=True))
    # S ≤ 50 %: over the organisation 2 of 4 keep S; per department 1 of 2 in each.
    quotas = [{"grade": "S", "op": "<=", "share": "0.5"}]
    period = scored_period(world_a.org, scores, policy=make_policy(world_a.org, quotas=quotas,
                                                                   population="department"))
    close(period)
    assert grades(period, [p.name for p in production + office]) == {
        production[0].name: "S", production[1].name: "A", office[0].name: "S", office[1].name: "A"}


def test_it_gives_an_exempt_person_the_set_grade_outside_the_distribution(world_a):
    people = add_people(world_a.org, world_a.production, 2)
    period = scored_period(world_a.org, dict(zip(people, ["95", "85"], strict=True)),
                           policy=make_policy(world_a.org, status_grades={"exempt": "B"}, quotas=[]))
    with scope(organization=world_a.org):
        Sheet.objects.filter(period=period, person=people[1]).update(special_status="exempt")
    close(period)
    exempt = results(period)[people[1].name]
    assert (exempt.grade, exempt.coefficient, exempt.rank) == ("B", Decimal("1.0000"), None)


def test_it_leaves_a_long_leave_without_a_grade_when_the_policy_says_not_assessed(world_a):
    people = add_people(world_a.org, world_a.production, 2)
    period = scored_period(world_a.org, dict(zip(people, ["95", None], strict=True)),
                           policy=make_policy(world_a.org, status_grades={"long_leave": None}, quotas=[]))
    with scope(organization=world_a.org):
        Sheet.objects.filter(period=period, person=people[1]).update(special_status="long_leave")
    job = close(period)
    assert job.state == Job.State.DONE  # an unscored sheet on leave does not block the close
    on_leave = results(period)[people[1].name]
    assert (on_leave.grade, on_leave.coefficient) == ("", None)


def test_it_scores_a_refusal_as_zero_and_grades_it(world_a):
    people = add_people(world_a.org, world_a.production, 2)
    period = scored_period(world_a.org, dict(zip(people, ["95", "88"], strict=True)),
                           policy=make_policy(world_a.org, quotas=[]))
    with scope(organization=world_a.org):
        Sheet.objects.filter(period=period, person=people[1]).update(special_status="refused")
    close(period)
    refused = results(period)[people[1].name]
    assert (refused.final_score, refused.grade, refused.rank) == (Decimal("0.00"), "C", 2)


# --- rules over consecutive periods ------------------------------------------------------------


BELOW_80 = {"code": "below80", "name": "连续三个月低于80分", "kind": "streak",
            "config": {"periods": 3, "condition": {"score_below": "80"}}, "outcome": "accountability"}


def test_it_flags_three_consecutive_periods_below_80_at_the_third_close(world_a):
    people = add_people(world_a.org, world_a.production, 2)
    policy = make_policy(world_a.org, quotas=[], rules=[BELOW_80])
    for month, low in [(7, "79"), (8, "78.5"), (9, "77")]:
        period = scored_period(world_a.org, dict(zip(people, [low, "90"], strict=True)), policy=policy,
                               number=month)
        close(period)
        flagged = {name: r.flags for name, r in results(period).items() if r.flags}
        if month < 9:
            assert flagged == {}
    assert [f["outcome"] for f in flagged[people[0].name]] == ["accountability"]
    assert people[1].name not in flagged


def test_it_flags_two_c_quarters_in_a_year_as_unfit(world_a):
    people = add_people(world_a.org, world_a.production, 2)
    unfit = {"code": "unfit", "kind": "count_in_window", "outcome": "unfit",
             "config": {"count": 2, "of_last": 4, "same_year": True, "condition": {"grade_in": ["C"]}}}
    policy = make_policy(world_a.org, quotas=[], rules=[unfit])
    for quarter, score in [(1, "65"), (2, "85"), (3, "60")]:
        period = scored_period(world_a.org, dict(zip(people, [score, "90"], strict=True)), policy=policy,
                               number=quarter, kind="quarterly")
        close(period)
    assert [f["outcome"] for f in results(period)[people[0].name].flags] == ["unfit"]


def test_it_flags_the_bottom_three(world_a):
    people = add_people(world_a.org, world_a.production, 5)
    bottom = {"code": "bottom3", "kind": "bottom_n", "config": {"n": 3}, "outcome": "no_award"}
    period = scored_period(world_a.org, dict(zip(people, ["95", "90", "85", "80", "75"], strict=True)),
                           policy=make_policy(world_a.org, quotas=[], rules=[bottom]))
    close(period)
    flagged = sorted(name for name, r in results(period).items() if r.flags)
    assert flagged == sorted(p.name for p in people[2:])


def test_it_flags_salary_grade_up_after_two_top_grades(world_a):
    people = add_people(world_a.org, world_a.production, 1)
    up = {"code": "up", "kind": "streak", "config": {"periods": 2, "condition": {"grade_in": ["S"]}},
          "outcome": "salary_up"}
    policy = make_policy(world_a.org, quotas=[], rules=[up])
    for month in (1, 2):
        period = scored_period(world_a.org, {people[0]: "95"}, policy=policy, number=month)
        close(period)
    assert [f["outcome"] for f in results(period)[people[0].name].flags] == ["salary_up"]


def test_it_lets_hr_choose_the_grading_policy_until_the_period_closes(world_a, hr):
    people = add_people(world_a.org, world_a.production, 1)
    period = scored_period(world_a.org, {people[0]: "80"}, policy=None)
    policy = make_policy(world_a.org)
    with scope(organization=world_a.org):
        services.set_grading_policy(period=period, policy=policy, acting_user=hr)
    close(period)
    with scope(organization=world_a.org):
        assert Period.objects.get(pk=period.pk).grading_policy == policy
        with pytest.raises(services.IllegalTransition, match=str(Period.State.CLOSED.label)):
            services.set_grading_policy(period=period, policy=None, acting_user=hr)


def test_it_chooses_the_grading_policy_in_the_period_page(world_a, hr, client):
    people = add_people(world_a.org, world_a.production, 1)
    period = scored_period(world_a.org, {people[0]: "80"}, policy=None)
    policy = make_policy(world_a.org)
    client.force_login(hr)
    page = client.get(f"/periods/{period.pk}/")
    assert "S1-4 强制分布 v1" in page.content.decode()
    client.post(f"/periods/{period.pk}/grading-policy/", {"grading_policy": policy.pk})
    with scope(organization=world_a.org):
        assert Period.objects.get(pk=period.pk).grading_policy == policy


def test_it_refuses_another_organisations_grading_policy_in_the_page(world_a, world_b, hr, client):
    people = add_people(world_a.org, world_a.production, 1)
    period = scored_period(world_a.org, {people[0]: "80"}, policy=None)
    foreign = make_policy(world_b.org)
    client.force_login(hr)
    response = client.post(f"/periods/{period.pk}/grading-policy/", {"grading_policy": foreign.pk})
    assert response.status_code == 404


def test_it_chooses_the_grading_policy_through_the_api(world_a, hr, api_for):
    people = add_people(world_a.org, world_a.production, 1)
    period = scored_period(world_a.org, {people[0]: "80"}, policy=None)
    policy = make_policy(world_a.org)
    response = api_for(hr).post(f"/api/periods/{period.pk}/grading-policy/", {"grading_policy": policy.pk},
                                format="json")
    assert (response.status_code, response.json()["grading_policy"]) == (200, policy.pk)


def test_it_refuses_another_organisations_grading_policy_through_the_api(world_a, world_b, hr, api_for):
    people = add_people(world_a.org, world_a.production, 1)
    period = scored_period(world_a.org, {people[0]: "80"}, policy=None)
    foreign = make_policy(world_b.org)
    response = api_for(hr).post(f"/api/periods/{period.pk}/grading-policy/", {"grading_policy": foreign.pk},
                                format="json")
    assert response.status_code == 400


def test_it_says_a_bottom_n_rule_cannot_apply_to_a_population_of_n(world_a):
    # S0-2: bottom 3 of the plant's three shifts would flag the best shift too (seen: 104.02).
    people = add_people(world_a.org, world_a.production, 3)
    bottom = {"code": "bottom3", "kind": "bottom_n", "config": {"n": 3}, "outcome": "no_award"}
    period = scored_period(world_a.org, dict(zip(people, ["95", "90", "85"], strict=True)),
                           policy=make_policy(world_a.org, quotas=[], rules=[bottom]))
    close(period)
    for result in results(period).values():
        assert [(f["rule"], f["outcome"]) for f in result.flags] == [("bottom3", "not_applied")]
        assert "3" in result.flags[0]["message"]
