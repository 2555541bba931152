"""Writes for a period's life: create it, choose its grading policy, move it along TRANSITIONS, and
open it (which sends sheet generation, :mod:`appraisal.services.sheets`, after commit).

Closing, sending back to calibration, publishing and finalising are in
:mod:`appraisal.services.closing` and :mod:`appraisal.services.window`; they take their step with
:func:`move`, which :func:`transition` also uses after refusing the steps that have their own service.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from django.db import transaction
from django.utils.translation import gettext as _

from appraisal.models import TRANSITIONS, GradingPolicy, Period, PeriodTemplate
from appraisal.periods import period_bounds, period_code
from appraisal.services import assignment
from appraisal.services.common import IllegalTransition
from appraisal.services.sheets import generate_sheets_task
from indicators.models import Template
from organizations.models import Organization, User
from organizations.tasks import enqueue


@transaction.atomic
def create_period(*, organization: Organization, acting_user: User | None, kind: str, year: int, number: int,
                  templates: Iterable[Template], start_day: int = 1, start_month: int = 1, name: str = "",
                  deadlines: Mapping[str, dt.datetime] | None = None,
                  grading_policy: GradingPolicy | None = None) -> Period:
    """A draft period; ``start_month`` is the month its year starts in (appraisal.periods)."""
    start, end = period_bounds(kind, year, number, start_day, start_month)
    code = period_code(kind, year, number, start_month)
    period = Period(organization=organization, code=code, name=name or code, kind=kind, year=year, number=number,
                    start_day=start_day, start_month=start_month, start=start, end=end,
                    grading_policy=grading_policy, **(deadlines or {}))
    period.full_clean()
    period._history_user = acting_user  # type: ignore[attr-defined]
    period.save()
    PeriodTemplate.objects.bulk_create(
        PeriodTemplate(organization=organization, period=period, template=t) for t in templates
    )
    return period


def set_grading_policy(*, period: Period, policy: GradingPolicy | None, acting_user: User | None) -> Period:
    """Chooses the grading policy (a version) the period will be closed with. Refused once the
    period is closed: its results were graded with the version it has."""
    current = Period.objects.get(pk=period.pk)
    if current.state in (Period.State.CLOSED, Period.State.PUBLISHED, Period.State.FINAL):
        raise IllegalTransition(
            _("Period %(period)s is %(state)s: its grading policy can no longer change.")
            % {"period": current.code, "state": current.get_state_display()}
        )
    if current.grading_policy_id == (policy.pk if policy else None):
        return current
    current.grading_policy = policy
    current._history_user = acting_user  # type: ignore[attr-defined]
    current._change_reason = "grading policy"  # type: ignore[attr-defined]
    current.save(update_fields=["grading_policy"])
    period.grading_policy = policy
    return current


def transition(*, period: Period, to: str, acting_user: User | None, reason: str = "") -> Period:
    """Moves a period one step along TRANSITIONS, or refuses naming the state it is in. Sending a
    closed period back to calibration has its own service (closing.reopen_period: it retires the
    results and needs a reason), so it is refused here."""
    if to == Period.State.CALIBRATION:
        current = Period.objects.get(pk=period.pk)
        if current.state == Period.State.CLOSED:
            raise IllegalTransition(
                _("Period %(period)s is %(state)s: sending it back to calibration retires its results; do it with "
                  "“send back to calibration”, giving a reason.")
                % {"period": current.code, "state": current.get_state_display()}
            )
    return move(period=period, to=to, acting_user=acting_user, reason=reason)


def move(*, period: Period, to: str, acting_user: User | None, reason: str = "") -> Period:
    """The step itself, for :func:`transition` and the services that own a step (close, publish,
    finalise, reopen).

    The conditional UPDATE is the claim: of two concurrent requests for the same step, one
    changes the row and the other is refused, so a step's side effects happen once.
    """
    current = Period.objects.get(pk=period.pk)
    allowed = TRANSITIONS.get(current.state, frozenset())
    target_label = Period.State(to).label if to in Period.State.values else to
    if to not in allowed:
        raise IllegalTransition(
            _("Period %(period)s cannot go to %(target)s: it is %(state)s.")
            % {"period": current.code, "target": target_label, "state": current.get_state_display()}
        )
    with transaction.atomic():
        previous = current.state
        claimed = Period.objects.filter(pk=period.pk, state=previous).update(state=to)
        if not claimed:
            current.refresh_from_db()
            raise IllegalTransition(
                _("Period %(period)s cannot go to %(target)s: it is %(state)s.")
                % {"period": current.code, "target": target_label, "state": current.get_state_display()}
            )
        current.refresh_from_db()
        current._history_user = acting_user  # type: ignore[attr-defined]
        current._change_reason = (reason or f"{previous} → {to}")[:100]  # type: ignore[attr-defined]
        current.save(update_fields=["state"])
    period.state = current.state
    return current


def open_period(*, period: Period, acting_user: User | None) -> Period:
    """draft → open, then sheets are generated by a task sent after commit. Refused
    (AssignmentConflict, naming the subjects and templates) while two of the period's templates
    claim someone equally (appraisal.services.assignment)."""
    if period.state == Period.State.DRAFT:
        assignment.check_assignment(period=period)
    with transaction.atomic():
        opened = transition(period=period, to=Period.State.OPEN, acting_user=acting_user, reason="opened")
        enqueue(generate_sheets_task, organization_id=period.organization_id, period_id=period.pk)
    return opened
