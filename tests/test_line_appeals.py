"""An appeal against a line changes that line (issue #16): the decision records the line's new
data (its values, a rater's rating, its recorded occurrences), never a typed total; the line and
its sheet are rescored, the result takes the sheet's new score, the population is regraded and
payroll hears of it. The employee's page shows the new line and its history; the API mirrors it;
a second decision on the same appeal is refused, naming who decided.

The period (tests/line_appeals.py): employee 72.00 (B) = WORK 70 (actual 70 of 100, weight 0.6),
DISC 90 (one 迟到, weight 0.2), ATT 60 (合格, weight 0.2); colleague 83.00 (A); one A place.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from appraisal import appeals, services
from appraisal.appeal_lines import DecisionDataRefused, LineChange, NewRecord, RatingChange
from appraisal.models import Appeal, DeductionRecord, Period, Rater, Rating, Result, Sheet, SheetLine
from appraisal.signals import results_changed
from organizations.models import User
from tests.conftest import World
from tests.line_appeals import LinePeriod, line_period


@pytest.fixture
def published(world_a: World, hr: User, head: User, employee: User, supervisor: User) -> LinePeriod:
    return line_period(world_a)


def appeal_against(setup: LinePeriod, world: World, code: str, *, head: User | None = None) -> Appeal:
    """The employee's appeal against their line ``code``, forwarded by the head when given."""
    with scope(organization=world.org):
        appeal = appeals.file_appeal(result=setup.result, acting_user=None, filed_by=world.people["employee"],
                                     reason="数据有误", line=setup.lines[code])
        if head is not None:
            appeal = appeals.forward_appeal(appeal=appeal, acting_user=head, opinion="情况属实")
        return appeal


def uphold(world: World, appeal: Appeal, hr: User, change: LineChange, reason: str = "核实属实") -> Appeal:
    with scope(organization=world.org):
        return appeals.decide_appeal(appeal=appeal, acting_user=hr, upheld=True, reason=reason, line_change=change)


def fresh(world: World, model: Any, pk: int) -> Any:
    with scope(organization=world.org):
        return model.objects.get(pk=pk)


# --- the service ----------------------------------------------------------------------------------


def test_it_starts_from_the_scores_the_docstring_gives(world_a: World, published: LinePeriod) -> None:
    assert (published.result.final_score, published.result.grade) == (Decimal("72.00"), "B")
    assert (published.colleague.final_score, published.colleague.grade) == (Decimal("83.00"), "A")


def test_it_rescores_the_line_from_its_new_actual(world_a: World, head: User, hr: User,
                                                 published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    uphold(world_a, appeal, hr, LineChange(values={"actual": Decimal("95")}))
    line = fresh(world_a, SheetLine, published.lines["WORK"].pk)
    assert (line.actual, line.score) == (Decimal("95.0000"), Decimal("95.00"))
    assert "95" in line.explanation


def test_it_rescores_the_sheet_and_gives_the_result_its_score(world_a: World, head: User, hr: User,
                                                             published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    decided = uphold(world_a, appeal, hr, LineChange(values={"actual": Decimal("95")}))
    sheet = fresh(world_a, Sheet, published.result.sheet_id)
    result = fresh(world_a, Result, published.result.pk)
    # 100 × (0.6 × 0.95 + 0.2 × 0.90 + 0.2 × 0.60) = 87.00
    assert sheet.score == Decimal("87.00")
    assert (result.raw_score, result.appeal_score, result.final_score) == (Decimal("72.00"), Decimal("87.00"),
                                                                          Decimal("87.00"))
    assert decided.new_score == Decimal("87.00")


def test_it_regrades_the_population_after_the_line_changes(world_a: World, head: User, hr: User,
                                                          published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    uphold(world_a, appeal, hr, LineChange(values={"actual": Decimal("95")}))
    # One A place: the employee at 87.00 takes it; the colleague at 83.00 falls to B.
    assert fresh(world_a, Result, published.result.pk).grade == "A"
    assert fresh(world_a, Result, published.colleague.pk).grade == "B"


def test_it_tells_payroll_which_results_a_line_appeal_changed(world_a: World, head: User, hr: User,
                                                             published: LinePeriod,
                                                             django_capture_on_commit_callbacks: Any) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    heard: list[dict[str, Any]] = []

    def listener(**kwargs: Any) -> None:
        heard.append(kwargs)

    results_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            uphold(world_a, appeal, hr, LineChange(values={"actual": Decimal("95")}))
    finally:
        results_changed.disconnect(listener)
    assert [(h["reason"], h["result_ids"]) for h in heard] == [
        ("appeal", sorted([published.result.pk, published.colleague.pk]))]


def test_it_keeps_what_the_decision_changed_on_the_appeal(world_a: World, head: User, hr: User,
                                                         published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    decided = uphold(world_a, appeal, hr, LineChange(values={"actual": Decimal("95")}))
    change = fresh(world_a, Appeal, decided.pk).line_change
    assert change["changes"] == [{"kind": "value", "name": "actual", "old": "70", "new": "95"}]
    assert (change["line_score"], change["sheet_score"], change["final_score"]) == (
        ["70.00", "95.00"], ["72.00", "87.00"], ["72.00", "87.00"])


def test_it_audits_the_line_with_the_decider_and_the_decisions_reason(world_a: World, head: User, hr: User,
                                                                     published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    uphold(world_a, appeal, hr, LineChange(values={"actual": Decimal("95")}), reason="产量报表复核属实")
    with scope(organization=world_a.org):
        rows = list(SheetLine.history.filter(id=published.lines["WORK"].pk).order_by("history_date"))
    latest = rows[-1]
    assert (latest.actual, latest.history_user) == (Decimal("95.0000"), hr)
    assert "产量报表复核属实" in (latest.history_change_reason or "")
    assert rows[-2].actual == Decimal("70.0000")  # old → new


def test_it_audits_the_sheet_and_the_result_with_the_decisions_reason(world_a: World, head: User, hr: User,
                                                                     published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    uphold(world_a, appeal, hr, LineChange(values={"actual": Decimal("95")}), reason="产量报表复核属实")
    with scope(organization=world_a.org):
        sheet = Sheet.history.filter(id=published.result.sheet_id).order_by("-history_date").first()
        result = Result.history.filter(id=published.result.pk, appeal_score__isnull=False).order_by(
            "history_date").first()
    assert sheet is not None and sheet.score == Decimal("87.00") and sheet.history_user == hr
    assert "产量报表复核属实" in (sheet.history_change_reason or "")
    assert result is not None and "产量报表复核属实" in (result.history_change_reason or "")


def test_it_refuses_an_input_the_line_does_not_have_naming_it(world_a: World, head: User, hr: User,
                                                              published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    with pytest.raises(DecisionDataRefused) as refused:
        uphold(world_a, appeal, hr, LineChange(inputs={"coal": Decimal("1")}))
    assert refused.value.field == "inputs.coal"


def test_it_refuses_a_value_the_lines_method_does_not_use_naming_it(world_a: World, head: User, hr: User,
                                                                  published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    with pytest.raises(DecisionDataRefused) as refused:
        uphold(world_a, appeal, hr, LineChange(values={"rating": "优秀"}))
    assert refused.value.field == "rating" and "实际值" in refused.value.message


def test_it_refuses_records_for_a_line_scored_from_values(world_a: World, head: User, hr: User,
                                                         published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    with pytest.raises(DecisionDataRefused) as refused:
        uphold(world_a, appeal, hr, LineChange(records={1: 0}))
    assert refused.value.field == "records"


def test_it_refuses_an_upheld_line_appeal_without_new_data(world_a: World, head: User, hr: User,
                                                          published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    with pytest.raises(DecisionDataRefused) as refused:
        uphold(world_a, appeal, hr, LineChange())
    assert refused.value.field == "line_data"
    assert fresh(world_a, Appeal, appeal.pk).state == Appeal.State.FORWARDED


def test_it_refuses_data_that_changes_nothing(world_a: World, head: User, hr: User, published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    with pytest.raises(DecisionDataRefused) as refused:
        uphold(world_a, appeal, hr, LineChange(values={"actual": Decimal("70")}))
    assert refused.value.field == "line_data"


def test_it_refuses_a_typed_score_for_a_line_appeal(world_a: World, head: User, hr: User,
                                                   published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    with scope(organization=world_a.org), pytest.raises(DecisionDataRefused) as refused:
        appeals.decide_appeal(appeal=appeal, acting_user=hr, upheld=True, reason="x", new_score=Decimal("88"))
    assert refused.value.field == "new_score"


def test_it_leaves_everything_as_it_was_when_the_new_data_cannot_be_scored(world_a: World, head: User, hr: User,
                                                                          published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    with pytest.raises(DecisionDataRefused):
        uphold(world_a, appeal, hr, LineChange(values={"actual": None}))
    line = fresh(world_a, SheetLine, published.lines["WORK"].pk)
    assert (line.actual, line.score) == (Decimal("70.0000"), Decimal("70.00"))
    assert fresh(world_a, Appeal, appeal.pk).state == Appeal.State.FORWARDED


def test_it_removes_a_recorded_deduction(world_a: World, head: User, hr: User, published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "DISC", head=head)
    with scope(organization=world_a.org):
        record = DeductionRecord.objects.get(line=published.lines["DISC"])
    uphold(world_a, appeal, hr, LineChange(records={record.pk: 0}))
    with scope(organization=world_a.org):
        assert not DeductionRecord.objects.filter(pk=record.pk).exists()
        gone = DeductionRecord.history.filter(id=record.pk, history_type="-").get()
    assert gone.history_user == hr
    assert fresh(world_a, SheetLine, published.lines["DISC"].pk).score == Decimal("100.00")
    assert fresh(world_a, Result, published.result.pk).final_score == Decimal("74.00")  # 42 + 20 + 12


def test_it_adds_a_missing_occurrence(world_a: World, head: User, hr: User, published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "DISC", head=head)
    with scope(organization=world_a.org):
        record = DeductionRecord.objects.get(line=published.lines["DISC"])
    # The 迟到 was in fact an 旷工 (20 points): the late record goes, the absence is recorded.
    new = NewRecord(item_code="absent", count=1, occurred_on=published.period.start, evidence="考勤复核")
    decided = uphold(world_a, appeal, hr, LineChange(records={record.pk: 0}, add_records=[new]))
    assert fresh(world_a, SheetLine, published.lines["DISC"].pk).score == Decimal("80.00")
    assert [(c["name"], c["old"], c["new"]) for c in decided.line_change["changes"]] == [
        ("late", "1", "0"), ("absent", "0", "1")]


def test_it_refuses_a_record_dated_outside_the_period(world_a: World, head: User, hr: User,
                                                     published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "DISC", head=head)
    late = NewRecord(item_code="late", count=1, occurred_on=published.period.end + dt.timedelta(days=1))
    with pytest.raises(DecisionDataRefused) as refused:
        uphold(world_a, appeal, hr, LineChange(add_records=[late]))
    assert refused.value.field == "add_records"


def test_it_refuses_a_record_of_another_line(world_a: World, head: User, hr: User, published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "DISC", head=head)
    with scope(organization=world_a.org):
        theirs = SheetLine.objects.get(sheet=published.colleague.sheet, indicator__code="DISC")
        other = DeductionRecord.objects.create(organization=world_a.org, line=theirs, item_code="late", count=1,
                                               occurred_on=published.period.start)
    with pytest.raises(DecisionDataRefused) as refused:
        uphold(world_a, appeal, hr, LineChange(records={other.pk: 0}))
    assert refused.value.field == "records"
    with scope(organization=world_a.org):
        assert DeductionRecord.objects.filter(pk=other.pk).exists()


def test_it_replaces_a_raters_rating(world_a: World, head: User, hr: User, published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "ATT", head=head)
    with scope(organization=world_a.org):
        rater = Rater.objects.get(sheet=published.result.sheet, role="supervisor")
    decided = uphold(world_a, appeal, hr, LineChange(ratings=[RatingChange(rater.pk, rating="优秀")]))
    with scope(organization=world_a.org):
        rating = Rating.objects.get(line=published.lines["ATT"], rater=rater)
        audit = rating.history.order_by("-history_date").first()
    assert (rating.rating, rating.score) == ("优秀", Decimal("100.00"))
    assert audit is not None and audit.history_user == hr
    assert fresh(world_a, SheetLine, published.lines["ATT"].pk).score == Decimal("100.00")
    assert decided.new_score == Decimal("80.00")  # 42 + 18 + 20
    assert decided.line_change["changes"][0]["old"] == "合格"


def test_it_refuses_a_rating_off_the_scale(world_a: World, head: User, hr: User, published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "ATT", head=head)
    with scope(organization=world_a.org):
        rater = Rater.objects.get(sheet=published.result.sheet, role="supervisor")
    with pytest.raises(DecisionDataRefused) as refused:
        uphold(world_a, appeal, hr, LineChange(ratings=[RatingChange(rater.pk, rating="极好")]))
    assert refused.value.field == "ratings"


def test_it_refuses_a_rater_of_another_sheet(world_a: World, head: User, hr: User, published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "ATT", head=head)
    with scope(organization=world_a.org):
        other = Rater.objects.get(sheet=published.colleague.sheet, role="supervisor")
    with pytest.raises(DecisionDataRefused, match=str(other.pk)):
        uphold(world_a, appeal, hr, LineChange(ratings=[RatingChange(other.pk, rating="优秀")]))


def test_it_keeps_a_calibration_on_top_of_the_rescored_sheet(world_a: World, head: User, hr: User,
                                                            employee: User) -> None:
    setup = line_period(world_a, publish=False)
    with scope(organization=world_a.org):
        from appraisal.services import closing, window

        closing.calibrate(result=setup.result, score=Decimal("74"), reason="年度表彰", acting_user=hr)
        window.publish(period=Period.objects.get(pk=setup.period.pk), acting_user=None)
    appeal = appeal_against(setup, world_a, "WORK", head=head)
    decided = uphold(world_a, appeal, hr, LineChange(values={"actual": Decimal("95")}))
    assert decided.new_score == Decimal("89.00")  # sheet 87.00, calibrated +2.00
    assert fresh(world_a, Result, setup.result.pk).final_score == Decimal("89.00")


def test_it_keeps_the_typed_score_for_an_appeal_against_the_grade(world_a: World, head: User, hr: User,
                                                                 published: LinePeriod) -> None:
    with scope(organization=world_a.org):
        appeal = appeals.file_appeal(result=published.result, acting_user=None, filed_by=world_a.people["employee"],
                                     reason="等级不公")
        appeals.forward_appeal(appeal=appeal, acting_user=head, opinion="属实")
        appeals.decide_appeal(appeal=appeal, acting_user=hr, upheld=True, reason="属实", new_score=Decimal("88"))
    result = fresh(world_a, Result, published.result.pk)
    assert (result.final_score, fresh(world_a, Sheet, result.sheet_id).score) == (Decimal("88.00"), Decimal("72.00"))


def test_it_refuses_line_data_for_an_appeal_against_the_grade(world_a: World, head: User, hr: User,
                                                             published: LinePeriod) -> None:
    with scope(organization=world_a.org):
        appeal = appeals.file_appeal(result=published.result, acting_user=None, filed_by=world_a.people["employee"],
                                     reason="等级不公")
        appeals.forward_appeal(appeal=appeal, acting_user=head, opinion="属实")
        with pytest.raises(DecisionDataRefused) as refused:
            appeals.decide_appeal(appeal=appeal, acting_user=hr, upheld=True, reason="x", new_score=Decimal("88"),
                                  line_change=LineChange(values={"actual": Decimal("95")}))
    assert refused.value.field == "line_data"


def test_it_rejects_a_line_appeal_leaving_the_line_as_it_was(world_a: World, head: User, hr: User,
                                                            published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    with scope(organization=world_a.org):
        appeals.decide_appeal(appeal=appeal, acting_user=hr, upheld=False, reason="报表无误")
    assert fresh(world_a, SheetLine, published.lines["WORK"].pk).actual == Decimal("70.0000")
    assert fresh(world_a, Result, published.result.pk).final_score == Decimal("72.00")


# --- one decision -----------------------------------------------------------------------------


def test_it_refuses_a_second_decision_naming_who_decided(world_a: World, head: User, hr: User, supervisor: User,
                                                        published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    uphold(world_a, appeal, supervisor, LineChange(values={"actual": Decimal("95")}))
    with pytest.raises(services.IllegalTransition, match=str(supervisor)):
        uphold(world_a, appeal, hr, LineChange(values={"actual": Decimal("99")}))
    assert fresh(world_a, SheetLine, published.lines["WORK"].pk).actual == Decimal("95.0000")


# --- pay --------------------------------------------------------------------------------------------


def test_it_makes_a_new_pay_run_version_with_its_delta(world_a: World, head: User, hr: User, published: LinePeriod,
                                                      django_capture_on_commit_callbacks: Any) -> None:
    from payroll import services as pay
    from payroll.models import PayRun

    components = [{"code": "perf", "name": "绩效工资", "kind": "grade_coefficient",
                   "config": {"coefficients": {"S": "1.2", "A": "1.1", "B": "1.0", "C": "0.8"},
                              "quota_bands": {"input": "base_salary", "to_inclusive": True,
                                              "bands": [{"to": "1500", "quota": "200"},
                                                        {"to": None, "quota": "600"}]}}}]
    with scope(organization=world_a.org):
        pay.save_pay_policy(organization=world_a.org, acting_user=None, code="P", name="绩效工资办法",
                            components=components, effective_from=dt.date(2025, 1, 1))
        first = pay.compute_pay_run(period=published.period, acting_user=None, reason="closed")
    appeal = appeal_against(published, world_a, "WORK", head=head)
    with django_capture_on_commit_callbacks(execute=True):  # payroll's task runs eagerly on commit
        uphold(world_a, appeal, hr, LineChange(values={"actual": Decimal("95")}))
    with scope(organization=world_a.org):
        second = PayRun.objects.filter(period=published.period).order_by("-version").first()
        assert first is not None and second is not None and (first.version, second.version) == (1, 2)
        rows = {r.person_id: r.difference for r in pay.delta(run=second)}
    # The employee B → A: 600 × (1.1 − 1.0) = +60.00; the colleague A → B: −60.00.
    assert rows == {world_a.people["employee"].pk: Decimal("60.00"), world_a.people["colleague"].pk: Decimal("-60.00")}


# --- the API ----------------------------------------------------------------------------------------


def api_url(name: str, *args: Any) -> str:
    return reverse(f"api-appraisal:{name}", args=args)


def test_it_shows_the_appealed_lines_data_in_the_api(api_for: Any, world_a: World, head: User, hr: User,
                                                    published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    body = api_for(hr).get(api_url("appeal-detail", appeal.pk)).json()
    assert body["line_data"] == {"kind": "values", "indicator": "工作业绩", "score": "70.00", "target": "100",
                                 "actual": "70"}


def test_it_upholds_a_line_appeal_through_the_api(api_for: Any, world_a: World, head: User, hr: User,
                                                 published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    response = api_for(hr).post(api_url("appeal-decide", appeal.pk), {
        "upheld": True, "reason": "产量报表复核属实", "line_data": {"actual": "95"}}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["state"], body["new_score"], body["line_data"]["actual"]) == ("upheld", "87.00", "95")
    assert body["line_change"]["changes"] == [{"kind": "value", "name": "actual", "old": "70", "new": "95"}]


def test_it_changes_a_raters_rating_through_the_api(api_for: Any, world_a: World, head: User, hr: User,
                                                   published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "ATT", head=head)
    rater = api_for(hr).get(api_url("appeal-detail", appeal.pk)).json()["line_data"]["ratings"][0]
    assert (rater["role"], rater["rating"]) == ("supervisor", "合格")
    response = api_for(hr).post(api_url("appeal-decide", appeal.pk), {
        "upheld": True, "reason": "评分有误", "line_data": {"ratings": [{"rater": rater["rater"], "rating": "优秀"}]}},
        format="json")
    assert response.status_code == 200, response.content
    assert response.json()["new_score"] == "80.00"


def test_it_removes_and_adds_records_through_the_api(api_for: Any, world_a: World, head: User, hr: User,
                                                    published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "DISC", head=head)
    record = api_for(hr).get(api_url("appeal-detail", appeal.pk)).json()["line_data"]["records"][0]
    response = api_for(hr).post(api_url("appeal-decide", appeal.pk), {
        "upheld": True, "reason": "应为旷工", "line_data": {
            "records": [{"id": record["id"], "count": 0}],
            "add_records": [{"item_code": "absent", "occurred_on": published.period.start.isoformat(),
                             "evidence": "考勤复核"}]}}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["new_score"] == "70.00"  # DISC 80: 42 + 16 + 12


def test_it_answers_400_naming_a_value_the_line_does_not_use(api_for: Any, world_a: World, head: User, hr: User,
                                                            published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    response = api_for(hr).post(api_url("appeal-decide", appeal.pk), {
        "upheld": True, "reason": "x", "line_data": {"rating": "优秀"}}, format="json")
    assert response.status_code == 400
    assert list(response.json()["line_data"]) == ["rating"]


def test_it_answers_400_naming_an_input_the_line_does_not_have(api_for: Any, world_a: World, head: User, hr: User,
                                                              published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    response = api_for(hr).post(api_url("appeal-decide", appeal.pk), {
        "upheld": True, "reason": "x", "line_data": {"inputs": {"coal": "1"}}}, format="json")
    assert response.status_code == 400
    assert list(response.json()["line_data"]["inputs"]) == ["coal"]


def test_it_answers_400_naming_an_unknown_key_of_the_line_data(api_for: Any, world_a: World, head: User, hr: User,
                                                              published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    response = api_for(hr).post(api_url("appeal-decide", appeal.pk), {
        "upheld": True, "reason": "x", "line_data": {"actul": "95"}}, format="json")
    assert response.status_code == 400
    assert list(response.json()["line_data"]) == ["actul"]


def test_it_answers_400_to_a_typed_score_for_a_line_appeal(api_for: Any, world_a: World, head: User, hr: User,
                                                          published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    response = api_for(hr).post(api_url("appeal-decide", appeal.pk), {
        "upheld": True, "reason": "x", "new_score": "88"}, format="json")
    assert response.status_code == 400 and "new_score" in response.json()


def test_it_answers_409_naming_who_decided_to_a_second_decision(api_for: Any, world_a: World, head: User,
                                                               hr: User, supervisor: User,
                                                               published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    decide = {"upheld": True, "reason": "属实", "line_data": {"actual": "95"}}
    assert api_for(supervisor).post(api_url("appeal-decide", appeal.pk), decide, format="json").status_code == 200
    response = api_for(hr).post(api_url("appeal-decide", appeal.pk), {**decide, "line_data": {"actual": "99"}},
                                format="json")
    assert response.status_code == 409
    assert str(supervisor) in response.json()["detail"] and "申诉成立" in response.json()["detail"]


def test_it_answers_409_naming_the_state_before_the_supervisors_opinion(api_for: Any, world_a: World, hr: User,
                                                                       published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK")
    response = api_for(hr).post(api_url("appeal-decide", appeal.pk), {
        "upheld": True, "reason": "x", "line_data": {"actual": "95"}}, format="json")
    assert response.status_code == 409
    assert str(Appeal.State.FILED.label) in response.json()["detail"]


# --- the pages --------------------------------------------------------------------------------------


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def test_it_shows_the_head_the_line_appealed_with_its_data(client: Client, world_a: World, head: User,
                                                           published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK")
    html = signed_in(client, head).get(reverse("appeals")).content.decode()
    section = html[html.index(f'id="appeal-{appeal.pk}"'):]
    assert 'class="appeal-line">工作业绩<' in section
    assert 'class="appeal-line-score">70.00<' in section and "实际值" in section


def test_it_gives_hr_a_form_with_the_lines_current_values(client: Client, world_a: World, head: User, hr: User,
                                                          published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    html = signed_in(client, hr).get(reverse("appeals")).content.decode()
    assert 'data-kind="values"' in html
    assert f'name="actual" value="70" id="appeal-{appeal.pk}-actual"' in html
    assert 'name="new_score"' not in html  # a line appeal takes the line's data, not a score


def test_it_gives_hr_a_form_with_each_raters_rating(client: Client, world_a: World, head: User, hr: User,
                                                    published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "ATT", head=head)
    with scope(organization=world_a.org):
        rater = Rater.objects.get(sheet=published.result.sheet, role="supervisor")
    html = signed_in(client, hr).get(reverse("appeals")).content.decode()
    field = html[html.index(f'id="appeal-{appeal.pk}-rating-{rater.pk}"'):]
    assert 'data-kind="ratings"' in html and "直接上级 · head-a" in html
    assert '<option value="合格" selected>' in field[:field.index("</select>")]


def test_it_gives_hr_a_form_with_each_record_and_one_to_add(client: Client, world_a: World, head: User, hr: User,
                                                            published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "DISC", head=head)
    with scope(organization=world_a.org):
        record = DeductionRecord.objects.get(line=published.lines["DISC"])
    html = signed_in(client, hr).get(reverse("appeals")).content.decode()
    assert f'name="record-{record.pk}" value="1"' in html and f"迟到 · {record.occurred_on.isoformat()}" in html
    assert f'id="appeal-{appeal.pk}-add-item_code"' in html and '<option value="absent">旷工</option>' in html


def test_it_upholds_from_the_page_with_the_lines_new_value(client: Client, world_a: World, head: User, hr: User,
                                                           published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    response = signed_in(client, hr).post(reverse("appeal-decide", args=[appeal.pk]), {
        "decision": "uphold", "reason": "产量报表复核属实", "target": "100", "actual": "95"}, follow=True)
    assert fresh(world_a, SheetLine, published.lines["WORK"].pk).actual == Decimal("95.0000")
    assert "87.00" in response.content.decode()  # the message answering the form


def test_it_shows_why_the_page_refuses_a_value_naming_the_field(client: Client, world_a: World, head: User,
                                                                hr: User, published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    response = signed_in(client, hr).post(reverse("appeal-decide", args=[appeal.pk]), {
        "decision": "uphold", "reason": "x", "target": "100", "actual": "九十五"}, follow=True)
    assert "实际值" in response.content.decode()
    assert fresh(world_a, Appeal, appeal.pk).state == Appeal.State.FORWARDED


def test_it_tells_the_second_decider_on_the_page_who_decided(client: Client, world_a: World, head: User, hr: User,
                                                             supervisor: User, published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    uphold(world_a, appeal, supervisor, LineChange(values={"actual": Decimal("95")}))
    response = signed_in(client, hr).post(reverse("appeal-decide", args=[appeal.pk]), {
        "decision": "uphold", "reason": "y", "target": "100", "actual": "99"}, follow=True)
    assert str(supervisor) in response.content.decode()
    assert fresh(world_a, SheetLine, published.lines["WORK"].pk).actual == Decimal("95.0000")


def test_it_shows_the_employee_the_new_line_score_and_grade(client: Client, world_a: World, head: User, hr: User,
                                                            employee: User, published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    uphold(world_a, appeal, hr, LineChange(values={"actual": Decimal("95")}), reason="产量报表复核属实")
    html = signed_in(client, employee).get(reverse("my-results")).content.decode()
    line = html[html.index(f'id="line-{published.lines["WORK"].pk}"'):]
    line = line[:line.index("</tr>")]
    assert '<span class="line-value">95</span>' in line and 'class="text-end line-score">95.00<' in line
    assert 'class="fs-3 result-score">87.00<' in html and "<strong>A</strong>" in html


def test_it_shows_the_employee_the_lines_history(client: Client, world_a: World, head: User, hr: User,
                                                 employee: User, published: LinePeriod) -> None:
    appeal = appeal_against(published, world_a, "WORK", head=head)
    decided = uphold(world_a, appeal, hr, LineChange(values={"actual": Decimal("95")}), reason="产量报表复核属实")
    html = signed_in(client, employee).get(reverse("my-results")).content.decode()
    history = html[html.index(f'data-appeal="{appeal.pk}"'):]
    history = history[:history.index("</tr>")]
    assert decided.decided_at is not None
    day = decided.decided_at.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    assert f"{day.year}年{day.month}月{day.day}日" in history and "产量报表复核属实" in history
    assert "实际值" in history and '<span class="history-old">70</span>' in history
    assert '<span class="history-new">95</span>' in history and "70.00" in history and "95.00" in history
    assert "72.00 → 87.00" in history


def test_it_moves_the_focus_to_the_answer_with_a_script_of_the_site(client: Client, world_a: World,
                                                                    employee: User, published: LinePeriod) -> None:
    html = signed_in(client, employee).get(reverse("my-results")).content.decode()
    assert '<script src="/static/js/answer-focus.js" defer></script>' in html
    assert "<script>" not in html  # the Content-Security-Policy allows no inline script


# --- two decisions at once, on PostgreSQL -------------------------------------------------------------


@pytest.fixture
def postgres_eager() -> Any:
    """PostgreSQL (else a skip, or a failure under REQUIRE_SERVICES=1), with tasks run eagerly:
    what the decision sends on commit (payroll's computation) stays in this process."""
    if connection.vendor != "postgresql":
        missing = f"the database is {connection.vendor}, not PostgreSQL (DATABASE_URL=postgres://…)"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {missing}", pytrace=False)
        pytest.skip(f"needs PostgreSQL: {missing}")
    from config.celery import app as celery_app

    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = previous


@pytest.mark.services
def test_it_lets_only_one_of_two_simultaneous_decisions_through(postgres_eager: None, transactional_db: None,
                                                                world_a: World, head: User, hr: User,
                                                                supervisor: User,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    setup = line_period(world_a)
    appeal = appeal_against(setup, world_a, "WORK", head=head)
    original = appeals.apply_line_change

    def slow(**kwargs: Any) -> Any:
        outcome = original(**kwargs)
        threading.Event().wait(0.5)  # holds the appeal's lock while the other decision arrives
        return outcome

    monkeypatch.setattr(appeals, "apply_line_change", slow)
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def decide(user: User, actual: str) -> None:
        try:
            start.wait()
            uphold(world_a, appeal, user, LineChange(values={"actual": Decimal(actual)}))
            outcomes[user.username] = "decided"
        except services.IllegalTransition as refused:
            outcomes[user.username] = str(refused)
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(user, actual))
               for user, actual in ((hr, "95"), (supervisor, "99"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    decided = fresh(world_a, Appeal, appeal.pk)
    winner, loser = (hr, supervisor) if decided.decided_by == hr else (supervisor, hr)
    assert outcomes[winner.username] == "decided" and str(winner) in outcomes[loser.username]
    expected = Decimal("95.0000") if winner == hr else Decimal("99.0000")
    assert fresh(world_a, SheetLine, setup.lines["WORK"].pk).actual == expected
    with scope(organization=world_a.org):
        assert Appeal.history.filter(id=appeal.pk, state=Appeal.State.UPHELD).count() == 1
