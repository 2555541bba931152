"""Pay runs: computed from a closed period's results by the policy in force, one version per real
change, identical on a rerun, a delta after an upheld appeal, all or nothing on an error."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django_scopes import scope

from appraisal import appeals
from appraisal.models import Result
from appraisal.services import IllegalTransition, window
from organizations.models import Job, Person
from payroll import services
from payroll.models import PayInput, PayRun, PaySlip
from tests.closing import add_people, close, make_policy, scored_period

# S1-9: performance pay = quota × grade coefficient; the quota by salary band (≤1500 → 200,
# ≤2500 → 400, above → 600). Everyone here earns 3000 → quota 600.
S19 = [{"code": "perf", "name": "绩效工资", "kind": "grade_coefficient",
        "config": {"coefficients": {"S": "1.2", "A": "1.1", "B": "1.0", "C": "0.8"},
                   "quota_bands": {"input": "base_salary", "to_inclusive": True,
                                   "bands": [{"to": "1500", "quota": "200"}, {"to": "2500", "quota": "400"},
                                             {"to": None, "quota": "600"}]}}},
       {"code": "post", "name": "岗位津贴", "kind": "fixed", "config": {"amount": "150"}}]


def pay_policy(org: Any, components: list[dict[str, Any]] | None = None, **kwargs: Any) -> Any:
    with scope(organization=org):
        return services.save_pay_policy(organization=org, acting_user=None, code="P", name="绩效工资办法",
                                        components=components or S19,
                                        effective_from=kwargs.pop("effective_from", dt.date(2025, 1, 1)), **kwargs)


def closed_period(world: Any, scores: list[str], *, base_pay: str = "3000", number: int = 10,
                  **policy: Any) -> tuple[Any, list[Person]]:
    people = add_people(world.org, world.production, len(scores))
    with scope(organization=world.org):
        Person.objects.filter(pk__in=[p.pk for p in people]).update(base_pay=Decimal(base_pay))
    period = scored_period(world.org, dict(zip(people, scores, strict=True)),
                           policy=make_policy(world.org, **policy), number=number)
    close(period)
    return period, people


def slips(run: PayRun) -> dict[str, PaySlip]:
    with scope(organization=run.organization):
        return {s.person.name: s for s in PaySlip.objects.filter(run=run).select_related("person")}


def compute(period: Any, reason: str = "closed") -> PayRun:
    with scope(organization=period.organization):
        run = services.compute_pay_run(period=period, acting_user=None, reason=reason)
    assert run is not None
    return run


def test_it_pays_quota_times_coefficient_by_grade(world_a):
    pay_policy(world_a.org)
    period, people = closed_period(world_a, ["95", "85", "75", "65"], quotas=[])
    found = slips(compute(period))
    # 600 × 1.2 = 720, 600 × 1.1 = 660, 600 × 1.0 = 600, 600 × 0.8 = 480; + 150 each.
    assert [found[p.name].amount("perf") for p in people] == [Decimal("720.00"), Decimal("660.00"),
                                                               Decimal("600.00"), Decimal("480.00")]
    assert [found[p.name].total for p in people] == [Decimal("870.00"), Decimal("810.00"), Decimal("750.00"),
                                                     Decimal("630.00")]


def test_it_adds_each_persons_lines_up_to_their_total_and_the_slips_to_the_run_total(world_a):
    pay_policy(world_a.org)
    period, _people = closed_period(world_a, ["95", "85", "75", "65", "91.5"], quotas=[])
    run = compute(period)
    found = slips(run)
    for slip in found.values():
        assert sum((Decimal(line["amount"]) for line in slip.lines if line["paid"]), Decimal(0)) == slip.total
    assert sum((s.total for s in found.values()), Decimal(0)) == run.total == Decimal("3930.00")


def test_it_keeps_each_slips_paid_amounts_beside_its_lines(world_a):
    # The pay sheet and the delta read slip.amounts; it must say exactly what the paid lines say.
    pay_policy(world_a.org)
    period, people = closed_period(world_a, ["95", "65"], quotas=[])
    found = slips(compute(period))
    for slip in found.values():
        assert slip.amounts == {line["code"]: line["amount"] for line in slip.lines if line["paid"]}
    assert found[people[0].name].amounts["perf"] == "720.00"


def test_it_chooses_the_quota_by_salary_band_with_inclusive_edges(world_a):
    pay_policy(world_a.org)
    period, people = closed_period(world_a, ["75"], base_pay="1500", quotas=[])
    assert slips(compute(period))[people[0].name].amount("perf") == Decimal("200.00")  # ≤ 1500 → 200 × 1.0


def test_it_computes_the_run_when_the_period_closes(world_a, django_capture_on_commit_callbacks):
    pay_policy(world_a.org)
    people = add_people(world_a.org, world_a.production, 2)
    with scope(organization=world_a.org):
        Person.objects.filter(pk__in=[p.pk for p in people]).update(base_pay=Decimal("3000"))
    period = scored_period(world_a.org, dict(zip(people, ["95", "75"], strict=True)),
                           policy=make_policy(world_a.org, quotas=[]))
    with django_capture_on_commit_callbacks(execute=True):
        close(period)
    with scope(organization=world_a.org):
        runs = list(PayRun.objects.filter(period=period).values_list("version", "reason"))
    assert runs == [(1, "closed")]


def test_it_gives_identical_lines_and_no_new_version_when_rerun(world_a):
    pay_policy(world_a.org)
    period, _people = closed_period(world_a, ["95", "85", "75"], quotas=[])
    first = compute(period)
    before = {name: (s.total, s.lines) for name, s in slips(first).items()}
    again = compute(period, reason="rerun")
    assert again.pk == first.pk
    assert {name: (s.total, s.lines) for name, s in slips(again).items()} == before
    with scope(organization=world_a.org):
        assert PayRun.objects.filter(period=period).count() == 1


def test_it_skips_people_not_assessed_and_says_so(world_a):
    pay_policy(world_a.org)
    period, people = closed_period(world_a, ["95"], quotas=[])
    run = compute(period)
    assert set(slips(run)) == {people[0].name}  # the world's five are exempt → not assessed
    assert "employee-a" in run.notes


def test_it_fails_the_whole_run_naming_person_component_and_inputs_and_writes_nothing(world_a):
    per_trip = [{"code": "avg", "name": "单车收入", "kind": "formula", "config": {"expression": "revenue / trips"}}]
    pay_policy(world_a.org, per_trip, inputs=["revenue", "trips"])
    period, people = closed_period(world_a, ["95", "85"], quotas=[])
    with scope(organization=world_a.org):
        for person, trips in zip(people, ["10", "0"], strict=True):
            PayInput.objects.create(organization=world_a.org, period=period, person=person, name="revenue",
                                    value=Decimal("5000"))
            PayInput.objects.create(organization=world_a.org, period=period, person=person, name="trips",
                                    value=Decimal(trips))
        with pytest.raises(services.PayRunFailed) as caught:
            services.compute_pay_run(period=period, acting_user=None, reason="closed")
        assert not PayRun.objects.exists()
    message = str(caught.value)
    assert people[1].name in message and "avg" in message and "trips" in message


def test_it_records_a_failed_run_on_a_job_for_the_finance_page(world_a):
    from payroll.tasks import compute_pay_run_task

    pay_policy(world_a.org, [{"code": "avg", "kind": "formula", "config": {"expression": "revenue / trips"}}],
               inputs=["revenue", "trips"])
    period, _people = closed_period(world_a, ["95"], quotas=[])
    compute_pay_run_task.apply(kwargs={"organization_id": world_a.org.pk, "period_id": period.pk,
                                       "reason": "closed"})
    with scope(organization=world_a.org):
        job = Job.objects.get(kind="pay_run")
    assert job.state == Job.State.FAILED and "revenue" in job.message


def test_it_uses_the_policy_version_in_force_for_the_period(world_a):
    pay_policy(world_a.org)
    newer = [dict(S19[0]), {"code": "post", "name": "岗位津贴", "kind": "fixed", "config": {"amount": "300"}}]
    pay_policy(world_a.org, newer, effective_from=dt.date(2025, 12, 1))
    october, people = closed_period(world_a, ["75"], quotas=[])
    run = compute(october)
    assert slips(run)[people[0].name].amount("post") == Decimal("150.00")
    assert run.policies == {"*": "P v1"}


def test_it_makes_a_new_version_with_a_delta_when_an_appeal_is_upheld(world_a, hr, head):
    pay_policy(world_a.org)
    # 20 people, one S place: the top at 95 is S; the appellant at 89 is A.
    period, people = closed_period(world_a, ["95", "89"] + ["75"] * 18)
    first = compute(period)
    with scope(organization=world_a.org):
        window.publish(period=period, acting_user=hr)
        result = Result.objects.get(period=period, person=people[1])
        appeal = appeals.file_appeal(result=result, acting_user=None, filed_by=people[1], reason="漏记加分")
        appeals.forward_appeal(appeal=appeal, acting_user=head, opinion="属实")
        appeals.decide_appeal(appeal=appeal, acting_user=hr, upheld=True, reason="属实", new_score=Decimal("96"))
    second = compute(period, reason="appeal")
    assert (first.version, second.version) == (1, 2)
    with scope(organization=world_a.org):
        rows = {Person.objects.get(pk=r.person_id).name: r for r in services.delta(run=second)}
    # Appellant A → S: 600 × (1.2 − 1.1) = +60; the former top S → A: −60. Nobody else changes.
    assert set(rows) == {people[0].name, people[1].name}
    assert (rows[people[1].name].change("perf"), rows[people[1].name].difference) == (Decimal("60.00"),
                                                                                      Decimal("60.00"))
    assert rows[people[0].name].difference == Decimal("-60.00")
    assert second.total == first.total


def test_it_locks_a_confirmed_version_and_refuses_to_confirm_it_twice(world_a, finance):
    pay_policy(world_a.org)
    period, _people = closed_period(world_a, ["95"], quotas=[])
    run = compute(period)
    with scope(organization=world_a.org):
        confirmed = services.confirm_pay_run(run=run, acting_user=finance)
        with pytest.raises(IllegalTransition, match=str(PayRun.State.CONFIRMED.label)):
            services.confirm_pay_run(run=run, acting_user=finance)
    assert (confirmed.state, confirmed.confirmed_by) == (PayRun.State.CONFIRMED, finance)


def test_it_refuses_to_confirm_a_superseded_version(world_a, finance):
    pay_policy(world_a.org)
    period, people = closed_period(world_a, ["95", "75"], quotas=[])
    first = compute(period)
    with scope(organization=world_a.org):
        PayInput.objects.create(organization=world_a.org, period=period, person=people[0], name="base_salary",
                                value=Decimal("2000"))
    compute(period, reason="late input")
    with scope(organization=world_a.org), pytest.raises(IllegalTransition, match="2"):
        services.confirm_pay_run(run=first, acting_user=finance)


def test_it_carries_withheld_balances_into_the_next_period(world_a):
    # S1-2: 400 of the monthly pay withheld; returned when the year-end flag is set.
    withheld = [{"code": "hold", "name": "预留绩效", "kind": "withheld",
                 "config": {"amount": "400", "release_when": "year_end == 1"}}]
    pay_policy(world_a.org, withheld, inputs=["year_end"])
    people = add_people(world_a.org, world_a.production, 1)
    policy = make_policy(world_a.org, quotas=[])
    runs = []
    for month, flag in [(10, "0"), (11, "0"), (12, "1")]:
        period = scored_period(world_a.org, {people[0]: "80"}, policy=policy, number=month)
        close(period)
        with scope(organization=world_a.org):
            PayInput.objects.create(organization=world_a.org, period=period, person=people[0], name="year_end",
                                    value=Decimal(flag))
        runs.append(slips(compute(period))[people[0].name])
    assert [s.balances["hold"] for s in runs] == ["400.00", "800.00", "0.00"]
    # December: 400 withheld again, then the balance of 1,200 released: 1,200 − 400 = 800 on the line.
    assert runs[2].amount("hold") == Decimal("800.00")


def test_it_refuses_a_policy_naming_the_wrong_setting(world_a):
    with pytest.raises(services.PolicyRejected) as caught:
        pay_policy(world_a.org, [{"code": "x", "kind": "per_unit", "config": {"rates": [], "rate": "1"}}])
    assert caught.value.field == "components[0].config.rate"


def test_it_never_reads_another_organisations_policy(world_a, world_b):
    pay_policy(world_b.org)
    period, _people = closed_period(world_a, ["95"], quotas=[])
    with scope(organization=world_a.org):
        assert services.compute_pay_run(period=period, acting_user=None, reason="closed") is None
