"""The rules' outcomes that change a person, acted on once HR confirms (issue #12, item 9): salary
grade −1 / +1 (S1-9: 工资等级降一级 / 晋升等级一级), eliminated (S1-7: 末位淘汰), unfit (S1-4: 不胜任当前岗位).

Listed from publication, answered once the period is final: confirmed — the change written to the
person with the audit (who, when, old → new, the rule and the period) — or declined with a reason.
Service, API and page.

Four people (S1-4's scale, no quotas): 甲 98 (S, 95 or above → salary grade +1), 乙 75 (B), 丙 65 (C →
unfit), 丁 55 (C → unfit; below 60 → salary grade −1; last → eliminated).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from appraisal.models import OutcomeDecision, Period, Result
from appraisal.services import IllegalTransition, outcomes, window
from organizations.models import Person, User
from tests.closing import add_people, close, make_policy, scored_period
from tests.conftest import World

RULES: list[dict[str, Any]] = [
    {"code": "top", "name": "95分以上晋级", "kind": "streak",
     "config": {"periods": 1, "condition": {"score_at_least": "95"}}, "outcome": "salary_up"},
    {"code": "low", "name": "60分以下降级", "kind": "streak",
     "config": {"periods": 1, "condition": {"score_below": "60"}}, "outcome": "salary_down"},
    {"code": "c", "name": "C等不胜任", "kind": "streak",
     "config": {"periods": 1, "condition": {"grade_in": ["C"]}}, "outcome": "unfit"},
    {"code": "last", "name": "末位淘汰", "kind": "bottom_n", "config": {"n": 1}, "outcome": "eliminated"},
    {"code": "warn", "kind": "streak", "config": {"periods": 1, "condition": {"score_below": "70"}},
     "outcome": "warning"},
]


@pytest.fixture
def people(world_a: World) -> dict[str, Person]:
    found = add_people(world_a.org, world_a.production, 4, prefix="o")
    named = dict(zip(["甲", "乙", "丙", "丁"], found, strict=True))
    with scope(organization=world_a.org):
        Person.objects.filter(pk=named["甲"].pk).update(salary_grade=3)
        Person.objects.filter(pk=named["丁"].pk).update(salary_grade=1)
    return named


@pytest.fixture
def closed(world_a: World, hr: User, employee: User, people: dict[str, Person]) -> Period:
    policy = make_policy(world_a.org, code="OUT", quotas=[], rules=RULES)
    period = scored_period(world_a.org, dict(zip(people.values(), ["98", "75", "65", "55"], strict=True)),
                           policy=policy)
    close(period)
    with scope(organization=world_a.org):
        return Period.objects.get(pk=period.pk)


@pytest.fixture
def published(closed: Period) -> Period:
    with scope(organization=closed.organization):
        return window.publish(period=closed, acting_user=None)


@pytest.fixture
def final(published: Period) -> Period:
    assert published.window_ends_at is not None
    with scope(organization=published.organization):
        return window.finalise(period=published, acting_user=None,
                               now=published.window_ends_at + dt.timedelta(seconds=1))


def result(period: Period, person: Person) -> Result:
    with scope(organization=period.organization):
        return Result.objects.get(period=period, person=person)


def decide(period: Period, person: Person, rule: str, *, confirm: bool = True, reason: str = "",
           user: User | None = None) -> OutcomeDecision:
    with scope(organization=period.organization):
        return outcomes.decide_outcome(result=result(period, person), rule=rule, confirm=confirm, reason=reason,
                                       acting_user=user)


def listed(period: Period) -> list[tuple[str, str, str, str]]:
    with scope(organization=period.organization):
        current = Period.objects.select_related("grading_policy").get(pk=period.pk)
        return [(row.person.name, row.rule, row.outcome, row.state) for row in outcomes.person_outcomes(current)]


def fresh(person: Person) -> Person:
    with scope(organization=person.organization):
        return Person.objects.get(pk=person.pk)


# --- listing ------------------------------------------------------------------------------------------


def test_it_lists_nothing_before_publication(closed: Period) -> None:
    assert listed(closed) == []


def test_it_lists_the_outcomes_that_change_a_person_once_published(published: Period,
                                                                     people: dict[str, Person]) -> None:
    names = {person.name: key for key, person in people.items()}
    assert sorted((names[name], rule, outcome, state) for name, rule, outcome, state in listed(published)) == [
        ("丁", "c", "unfit", "pending"), ("丁", "last", "eliminated", "pending"),
        ("丁", "low", "salary_down", "pending"), ("丙", "c", "unfit", "pending"),
        ("甲", "top", "salary_up", "pending"),
    ]


def test_it_refuses_an_answer_before_the_period_is_final(published: Period, people: dict[str, Person]) -> None:
    with pytest.raises(IllegalTransition, match="已公示"):
        decide(published, people["甲"], "top")
    assert fresh(people["甲"]).salary_grade == 3


# --- confirming: the change written to the person with its audit ---------------------------------------


def test_it_writes_a_confirmed_salary_grade_down_to_the_person_with_who_and_why(
        final: Period, people: dict[str, Person], hr: User) -> None:
    decision = decide(final, people["丁"], "low", user=hr)
    assert fresh(people["丁"]).salary_grade == 0
    assert (decision.state, decision.change, decision.decided_by, decision.outcome) == (
        "confirmed", {"field": "salary_grade", "old": 1, "new": 0}, hr, "salary_down")
    assert "低于 60 分" in decision.message
    with scope(organization=final.organization):
        row = Person.history.filter(id=people["丁"].pk).order_by("-history_date").first()
    assert row is not None and row.history_user == hr and row.salary_grade == 0
    assert row.history_change_reason == f"已确认“工资等级降一级”：规则 low，考核周期 {final.code}"


def test_it_writes_a_confirmed_salary_grade_up(final: Period, people: dict[str, Person]) -> None:
    decide(final, people["甲"], "top")
    assert fresh(people["甲"]).salary_grade == 4


@pytest.mark.parametrize(("rule", "standing"), [("c", "unfit"), ("last", "eliminated")])
def test_it_writes_a_confirmed_standing_with_a_note_naming_the_rule_and_period(
        final: Period, people: dict[str, Person], rule: str, standing: str) -> None:
    decision = decide(final, people["丁"], rule)
    person = fresh(people["丁"])
    assert person.standing == standing
    assert person.standing_note.startswith(f"{rule}，考核周期 {final.code}：")
    assert decision.change["old"] == "good" and decision.change["new"] == standing


def test_it_answers_each_outcome_once_naming_who_answered(final: Period, people: dict[str, Person],
                                                          hr: User) -> None:
    decide(final, people["甲"], "top", user=hr)
    with pytest.raises(outcomes.OutcomeRefused, match="hr"):
        decide(final, people["甲"], "top", confirm=False, reason="再议")
    assert fresh(people["甲"]).salary_grade == 4
    assert [state for _name, rule, _outcome, state in listed(final) if rule == "top"] == ["confirmed"]


def test_it_refuses_a_salary_step_for_a_person_without_a_salary_grade(final: Period,
                                                                      people: dict[str, Person]) -> None:
    with scope(organization=final.organization):
        Person.objects.filter(pk=people["丁"].pk).update(salary_grade=None)
    with pytest.raises(outcomes.OutcomeRefused, match="尚无工资等级"):
        decide(final, people["丁"], "low")
    with scope(organization=final.organization):
        assert not OutcomeDecision.objects.exists()


def test_it_refuses_to_go_below_the_lowest_salary_grade(final: Period, people: dict[str, Person]) -> None:
    with scope(organization=final.organization):
        Person.objects.filter(pk=people["丁"].pk).update(salary_grade=0)
    with pytest.raises(outcomes.OutcomeRefused, match="不能再降"):
        decide(final, people["丁"], "low")
    assert fresh(people["丁"]).salary_grade == 0


@pytest.mark.parametrize("rule", ["warn", "nothing", "top"])
def test_it_refuses_a_rule_that_did_not_flag_a_person_outcome(final: Period, people: dict[str, Person],
                                                              rule: str) -> None:
    with pytest.raises(outcomes.OutcomeRefused, match=rule):
        decide(final, people["丁"], rule)  # 丁 has a warning, but no salary_up


# --- declining --------------------------------------------------------------------------------------------


def test_it_declines_with_a_reason_and_leaves_the_person_as_they_are(final: Period,
                                                                      people: dict[str, Person]) -> None:
    with pytest.raises(outcomes.OutcomeRefused, match="理由"):
        decide(final, people["丁"], "last", confirm=False, reason="  ")
    decision = decide(final, people["丁"], "last", confirm=False, reason="学年未满，暂不淘汰")
    person = fresh(people["丁"])
    assert (person.standing, person.standing_note) == ("good", "")
    assert (decision.state, decision.reason, decision.change) == ("declined", "学年未满，暂不淘汰", {})


# --- API ------------------------------------------------------------------------------------------------


def api(name: str, *args: Any) -> str:
    return reverse(f"api-appraisal:{name}", args=args)


def test_it_lists_the_outcomes_to_hr_through_the_api(api_for: Any, hr: User, final: Period,
                                                     people: dict[str, Person]) -> None:
    response = api_for(hr).get(api("result-outcomes"), {"period": final.pk})
    assert response.status_code == 200, response.content
    rows = {(row["rule"], row["person"]): row for row in response.json()}
    top = rows[("top", people["甲"].pk)]
    assert (top["outcome"], top["state"], top["change"], top["rule_name"]) == (
        "salary_up", "pending", {"field": "salary_grade", "old": 3, "new": 4}, "95分以上晋级")


def test_it_forbids_anyone_but_hr_the_outcomes(api_for: Any, employee: User, final: Period,
                                               people: dict[str, Person]) -> None:
    client = api_for(employee)
    assert client.get(api("result-outcomes"), {"period": final.pk}).status_code == 403


def test_it_answers_404_for_another_organisations_period(api_for: Any, outsider: User, final: Period) -> None:
    assert api_for(outsider).get(api("result-outcomes"), {"period": final.pk}).status_code == 404


@pytest.mark.parametrize("period", ["", "x", "0", "1.5", str(2**63)])
def test_it_answers_400_naming_a_wrong_period(api_for: Any, hr: User, period: str) -> None:
    response = api_for(hr).get(api("result-outcomes"), {"period": period})
    assert response.status_code == 400 and "period" in response.json()


def test_it_confirms_an_outcome_through_the_api(api_for: Any, hr: User, final: Period,
                                                people: dict[str, Person]) -> None:
    target = result(final, people["甲"])
    response = api_for(hr).post(api("result-decide-outcome", target.pk), {"rule": "top", "confirm": True},
                                format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["state"], response.json()["change"]["new"]) == ("confirmed", 4)
    again = api_for(hr).post(api("result-decide-outcome", target.pk),
                             {"rule": "top", "confirm": False, "reason": "x"}, format="json")
    assert again.status_code == 409
    assert fresh(people["甲"]).salary_grade == 4


def test_it_answers_409_before_the_period_is_final(api_for: Any, hr: User, published: Period,
                                                   people: dict[str, Person]) -> None:
    target = result(published, people["甲"])
    response = api_for(hr).post(api("result-decide-outcome", target.pk), {"rule": "top", "confirm": True},
                                format="json")
    assert response.status_code == 409 and "已公示" in response.json()["detail"]


# --- the page ----------------------------------------------------------------------------------------------


def test_it_shows_hr_the_outcomes_page_and_confirms_from_it(client: Client, hr: User, final: Period,
                                                            people: dict[str, Person]) -> None:
    client.force_login(hr)
    page = client.get(reverse("period-outcomes", args=[final.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "待确认的处理结果" in html and people["丁"].name in html and "工资等级降一级" in html
    assert html.count('class="person-outcome"') == 5
    target = result(final, people["丁"])
    posted = client.post(reverse("outcome-decide", args=[target.pk]), {"rule": "low", "answer": "confirm"})
    assert posted.status_code == 302
    assert fresh(people["丁"]).salary_grade == 0
    after = client.get(reverse("period-outcomes", args=[final.pk])).content.decode()
    assert "处理结果已确认" in after and "1 → 0" in after


def test_it_shows_the_refusal_on_the_page(client: Client, hr: User, final: Period,
                                          people: dict[str, Person]) -> None:
    client.force_login(hr)
    target = result(final, people["丁"])
    client.post(reverse("outcome-decide", args=[target.pk]), {"rule": "last", "answer": "decline"})
    page = client.get(reverse("period-outcomes", args=[final.pk])).content.decode()
    assert "请填写不予执行的理由" in page
    assert fresh(people["丁"]).standing == "good"


def test_it_says_when_outcomes_wait_for_the_period_to_be_final(client: Client, hr: User,
                                                               published: Period) -> None:
    client.force_login(hr)
    html = client.get(reverse("period-outcomes", args=[published.pk])).content.decode()
    assert 'id="outcomes-wait"' in html and "outcome-form" not in html


def test_it_forbids_the_page_to_an_employee(client: Client, employee: User, final: Period) -> None:
    client.force_login(employee)
    assert client.get(reverse("period-outcomes", args=[final.pk])).status_code == 403
