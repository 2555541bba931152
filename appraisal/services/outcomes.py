"""The outcomes of the rules that change a person — salary grade up or down (S1-9), unfit for the
post (S1-4), eliminated (S1-7) — acted on once HR confirms them.

The close and every regrade store them as flags on the results (appraisal.services.populations);
nothing is written to the person then, because the results may still move (calibration, an appeal).
They are listed from publication (:func:`person_outcomes`) and HR answers each one once the period is
final, when no appeal can change the result any more:

* confirmed — the change is written to the person with its audit row (who, when, old → new, and why:
  the rule and the period): ``salary_up`` / ``salary_down`` move ``Person.salary_grade`` one step
  (refused while the person has no salary grade, or below 0), ``unfit`` / ``eliminated`` set
  ``Person.standing`` with a note naming the rule and the period;
* declined — with a reason; the person is left as they are.

Each answer is an :class:`~appraisal.models.OutcomeDecision` (one per result and rule) keeping the
change old → new, who and when. A flag nobody answered stays pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appraisal import rules as rule_engine
from appraisal.models import OutcomeDecision, Period, Result
from appraisal.services import window
from appraisal.services.common import IllegalTransition
from organizations import services as org_services
from organizations.models import Person, User

PENDING = "pending"
LISTED_STATES = (Period.State.PUBLISHED, Period.State.FINAL)
REASON_MAX = 300


class OutcomeRefused(Exception):
    """The answer cannot be given as it stands; the message says why."""


@dataclass(frozen=True)
class PersonOutcome:
    """One rule's outcome for one person in a period, with HR's answer if there is one."""

    result: Result
    rule: str
    rule_name: str
    outcome: str
    message: str
    decision: OutcomeDecision | None

    @property
    def state(self) -> str:
        return PENDING if self.decision is None else self.decision.state

    @property
    def person(self) -> Person:
        assert self.result.person is not None  # only people's results are listed
        return self.result.person

    def proposed(self) -> dict[str, Any]:
        """What confirming would write: {"field", "old", "new"} (``new`` None when it cannot)."""
        return _change(self.person, self.outcome, self.result.period, self.rule, self.message)


def outcome_label(outcome: str) -> str:
    labels = {
        "salary_up": _("salary grade +1"),
        "salary_down": _("salary grade −1"),
        "unfit": _("unfit for the post"),
        "eliminated": _("eliminated"),
    }
    return labels.get(outcome, outcome)


def person_outcomes(period: Period) -> list[PersonOutcome]:
    """The period's person outcomes, in result order, once it is published: three queries."""
    if period.state not in LISTED_STATES:
        return []
    policy = period.grading_policy
    names = {rule["code"]: rule.get("name") or rule["code"] for rule in (policy.rules if policy else [])}
    decisions = {(d.result_id, d.rule): d for d in OutcomeDecision.objects.filter(result__period=period)
                 .select_related("decided_by")}
    found = []
    results = (Result.objects.filter(period=period, person__isnull=False).exclude(flags=[])
               .select_related("person", "period").order_by("population", "rank", "pk"))
    for result in results:
        for flag in result.flags:
            if flag.get("outcome") not in rule_engine.PERSON_OUTCOMES:
                continue
            rule = str(flag.get("rule", ""))
            found.append(PersonOutcome(result=result, rule=rule, rule_name=names.get(rule, rule),
                                       outcome=str(flag["outcome"]), message=str(flag.get("message", "")),
                                       decision=decisions.get((result.pk, rule))))
    return found


def may_decide(period: Period) -> bool:
    return period.state == Period.State.FINAL


def decide_outcome(*, result: Result, rule: str, confirm: bool, reason: str = "",
                   acting_user: User | None) -> OutcomeDecision:
    """HR's answer to the outcome ``rule`` flagged on ``result`` (see the module): confirmed, the
    change written to the person; or declined with a ``reason``. Once per result and rule."""
    reason = reason.strip()
    if not confirm and not reason:
        raise OutcomeRefused(_("Give a reason for declining the outcome: it is kept with the answer."))
    with transaction.atomic():
        period = Period.objects.select_for_update(of=("self",)).get(pk=result.period_id)
        if not may_decide(period):
            raise IllegalTransition(
                _("Period %(period)s is %(state)s: outcomes are confirmed once the period is final (the review "
                  "window has ended).") % {"period": period.code, "state": period.get_state_display()})
        result = Result.objects.select_related("period").get(pk=result.pk)
        flag = _flag(result, rule)
        if result.person_id is None:
            raise OutcomeRefused(_("Only a person's outcome changes a person."))
        person = Person.objects.select_for_update().get(pk=result.person_id)
        _refuse_answered(result, rule)
        change = _change(person, flag["outcome"], period, rule, str(flag.get("message", ""))) if confirm else {}
        if confirm:
            _apply(person, change, period, rule, flag["outcome"], acting_user)
        decision = OutcomeDecision(
            organization_id=result.organization_id, result=result, person=person, rule=rule,
            outcome=flag["outcome"], message=str(flag.get("message", "")),
            state=OutcomeDecision.State.CONFIRMED if confirm else OutcomeDecision.State.DECLINED,
            reason=reason[:REASON_MAX], change=change, decided_at=timezone.now(), decided_by=acting_user)
        decision._history_user = acting_user  # type: ignore[attr-defined]
        try:
            with transaction.atomic():
                decision.save()
        except IntegrityError:  # answered meanwhile by someone else
            _refuse_answered(result, rule)
            raise
    return decision


def _flag(result: Result, rule: str) -> dict[str, Any]:
    for flag in result.flags:
        if flag.get("rule") == rule and flag.get("outcome") in rule_engine.PERSON_OUTCOMES:
            return dict(flag)
    raise OutcomeRefused(_("The result has no outcome of the rule %(rule)s that changes the person.")
                         % {"rule": rule})


def _refuse_answered(result: Result, rule: str) -> None:
    answered = OutcomeDecision.objects.filter(result=result, rule=rule).select_related("decided_by").first()
    if answered is not None:
        who = answered.decided_by.get_username() if answered.decided_by else _("someone")
        raise OutcomeRefused(
            _("The outcome of the rule %(rule)s was %(state)s already by %(who)s at %(when)s.")
            % {"rule": rule, "state": answered.get_state_display(), "who": who,
               "when": window.show_time(answered.decided_at)})


def _change(person: Person, outcome: str, period: Period, rule: str, message: str) -> dict[str, Any]:
    """The field the outcome changes, old → new (``new`` None when the step cannot be taken)."""
    if outcome in ("salary_up", "salary_down"):
        old = person.salary_grade
        step = 1 if outcome == "salary_up" else -1
        new = None if old is None or old + step < 0 else old + step
        return {"field": "salary_grade", "old": old, "new": new}
    note = (_("%(rule)s, period %(period)s: %(message)s") % {"rule": rule, "period": period.code,
                                                              "message": message})[:200]
    return {"field": "standing", "old": person.standing, "new": outcome, "note": note}


def _apply(person: Person, change: dict[str, Any], period: Period, rule: str, outcome: str,
           acting_user: User | None) -> None:
    """Writes the confirmed change to the person, with their history row saying why."""
    if change["new"] is None:
        if change["old"] is None:
            raise OutcomeRefused(_("%(person)s has no salary grade: set it on the person before confirming.")
                                 % {"person": person})
        raise OutcomeRefused(_("%(person)s is at salary grade %(grade)s already: it cannot go lower.")
                             % {"person": person, "grade": change["old"]})
    why = (_("%(outcome)s confirmed: rule %(rule)s, period %(period)s")
           % {"outcome": outcome_label(outcome), "rule": rule, "period": period.code})[:100]
    fields: dict[str, Any] = {change["field"]: change["new"]}
    if change["field"] == "standing":
        fields["standing_note"] = change["note"]
    org_services.update_person(person=person, acting_user=acting_user, reason=why, **fields)
