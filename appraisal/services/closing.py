"""Closing a period and what follows: results, regrading, calibration (then publication and
finalising, in :mod:`appraisal.services.window`).

HR asks for the close (:func:`start_close`): a job is recorded and its task sent after commit. The
close itself goes in parts that any number of workers share (appraisal.services.close_parts):
the stale sheets are rescored in ranges, the period is then marked closing (figures are refused
from there on), the populations are graded in parts whose results are staged, out of sight, and
one last transaction writes every result and closes the period, so nothing partial is ever seen.
A part delivered twice, or taken again after its worker was killed, writes once; a close whose
every worker died (no heartbeat, organizations.jobs) is restarted by :func:`restart_close`, and
keeps what its rescoring committed. :func:`run_close` runs the same steps in one process.

Incomplete sheets (appraisal.selectors.incomplete_sheets: a rater whose missing rating does not
count as 0 has not rated, or a line has no score) refuse the close when HR asks for it and again
before grading, unless HR closes anyway with a reason: then every missing rating counts 0 (as the
provisional totals showed it while the period ran), a line without data scores 0 points, the
results of those sheets carry the flag "incomplete", and the reason is kept on the period and in its
audit trail. A sheet with a special status is never incomplete.

After that, scores change only through calibration (before publication, within the policy's cap)
or an upheld appeal (appraisal.appeals); both regrade the subject's whole population, because a
quota line can move when one score moves. Before publication HR may also send the period back to
calibration (reopen_period): the results are retired to their history and payroll is told.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from celery import shared_task
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from appraisal import grading, selectors
from appraisal.models import Period, Result, Sheet, SpecialStatus
from appraisal.services import close_parts, populations
from appraisal.services.close_drafts import (  # noqa: F401  (closing's names since before the close had parts)
    REASON_MAX,
    RESULT_COLUMNS,
    ClosureRefused,
    IncompleteSheets,
    population_drafts,
    refuse_incomplete,
    refuse_open_children,
)
from appraisal.services.common import IllegalTransition
from appraisal.services.periods import move
from appraisal.services.populations import GRADE_FIELDS, GRADED_STATUSES
from appraisal.services.rescoring import rescore_period  # noqa: F401  (re-exported)
from appraisal.signals import results_changed
from core.bulk import HISTORY_COLUMNS, insert_rows
from organizations import jobs
from organizations.jobs import ACTIVE, jobs_of, start_job
from organizations.models import Job, User
from organizations.tasks import TenantTask, enqueue
from organizations.tenancy import BULK_BATCH_SIZE

CLOSE_JOB = Job.Kind.CLOSE_PERIOD


# --- the close ----------------------------------------------------------------------------------


def start_close(*, period: Period, acting_user: User | None, anyway: bool = False, reason: str = "") -> Job:
    """Asks for the period to be closed: checks it can be, records a job and sends the task after
    commit. A second request while a close is queued or running returns the same job.

    Incomplete sheets refuse the close (IncompleteSheets, naming how many and the first ones)
    unless HR closes ``anyway`` with a ``reason``: the reason is kept on the period and in its
    audit trail, every missing rating counts 0 and a line without data scores 0 points, and the
    results of those sheets carry the flag "incomplete"."""
    current = Period.objects.get(pk=period.pk)
    if current.state != Period.State.CALIBRATION:
        raise IllegalTransition(
            _("Period %(period)s cannot be closed: it is %(state)s.")
            % {"period": current.code, "state": current.get_state_display()}
        )
    if current.grading_policy_id is None:
        raise ClosureRefused(_("Period %(period)s has no grading policy: choose one before closing.")
                             % {"period": current.code})
    unfinished = jobs_of(current, CLOSE_JOB).filter(state__in=ACTIVE).first()
    if unfinished is not None and not (unfinished.dead and jobs.retire(unfinished)):
        return unfinished  # a dead one is retired (failed, saying since when) and a new close starts
    reason = reason.strip()
    if anyway and not reason:
        raise ClosureRefused(_("Give a reason for closing with incomplete sheets: it is kept on the period and in "
                               "the audit trail."))
    refuse_open_children(current)
    params: dict[str, Any] = {}
    if not anyway:
        refuse_incomplete(current)
    elif selectors.incomplete_sheets(Sheet.objects.filter(period=current)).exists():
        params = {"anyway": True, "reason": reason[:REASON_MAX]}
    return start_job(subject=current, kind=CLOSE_JOB, acting_user=acting_user, params=params,
                     send=lambda job: enqueue(close_period_task, organization_id=current.organization_id,
                                              job_id=job.pk))


def close_job(period: Period) -> Job | None:
    return jobs_of(period, CLOSE_JOB).first()


def run_close(*, job: Job, acting_user: User | None = None, fan_out: bool = False) -> dict[str, int]:
    """The close task's body (see the module docstring): every part in this process, or, with
    ``fan_out``, the first step, whose parts go out as messages for any worker. Returns the results
    written (0 when they were there already, or the parts went out)."""
    acting_user = acting_user or job.created_by
    if Job.objects.filter(pk=job.pk, state__in=[Job.State.DONE, Job.State.FAILED]).exists():
        return {"results": 0}  # redelivered after it finished or was retired: the period may have moved on
    send = _send_parts if fan_out else _run_parts_here(acting_user)
    with jobs.alive(job):
        written = close_parts.begin(job, acting_user=acting_user, send=send)
        # In this process every step is run here: when another runner of the job (its message,
        # delivered meanwhile) took the next step first, what it has not done yet is done here too
        # (a part run twice writes once), so the close is over when this returns.
        for _attempt in range(5):
            if fan_out or Job.objects.filter(pk=job.pk, state__in=[Job.State.DONE, Job.State.FAILED]).exists():
                break
            written = close_parts.resume(job, acting_user=acting_user, send=send) or written
    return {"results": written or 0}


def _run_parts_here(acting_user: User | None) -> close_parts.Send:
    def run(job: Job, stage: str, numbers: list[int]) -> int | None:
        written = None
        for number in numbers:
            written = close_parts.run_part(job, stage, number, acting_user=acting_user,
                                           send=_run_parts_here(acting_user)) or written
        return written

    return run


def _send_parts(job: Job, stage: str, numbers: list[int]) -> None:
    for number in numbers:
        enqueue(close_part_task, organization_id=job.organization_id, job_id=job.pk, stage=stage, number=number)
    return None


def restart_close(*, job: Job, acting_user: User | None) -> Job:
    """Starts a dead or failed close again with its options (organizations.jobs.restart_job): the
    batches it committed stay rescored, so the new close rescores only the rest. One that died after
    committing the results, before it could say so, is done. NotRestartable when alive or done."""
    if Period.objects.filter(pk=job.subject_id, results_at__isnull=False).exists():
        dead = jobs.restartable(job)
        if Job.objects.filter(pk=dead.pk, state__in=ACTIVE).update(
                state=Job.State.DONE, done=dead.total, finished_at=timezone.now(),
                message=_("The results were there already.")):
            return Job.objects.get(pk=dead.pk)
        raise jobs.NotRestartable(_("Period %(period)s has its results: there is nothing to restart.")
                                  % {"period": Period.objects.get(pk=job.subject_id).code})

    def start(dead: Job) -> Job:
        params = dead.params or {}
        return start_close(period=Period.objects.get(pk=dead.subject_id), acting_user=acting_user,
                           anyway=bool(params.get("anyway")), reason=str(params.get("reason", "")))

    return jobs.restart_job(job=job, start=start)


@shared_task(base=TenantTask, bind=True, name="appraisal.close_period", acks_late=True)
def close_period_task(self: TenantTask, *, organization_id: int, job_id: int) -> dict[str, int]:
    """Starts closing the period a job names; its parts go out as messages of their own (run here
    when tasks run eagerly: no broker, no other worker). Safe to run twice: the second finds the
    parts planned (or the results written)."""
    return run_close(job=Job.objects.get(pk=job_id), fan_out=not self.app.conf.task_always_eager)


@shared_task(base=TenantTask, bind=True, name="appraisal.close_part", acks_late=True)
def close_part_task(self: TenantTask, *, organization_id: int, job_id: int, stage: str,
                    number: int) -> dict[str, int]:
    """One part of a close (appraisal.services.close_parts), on whichever worker takes it. Safe to
    run twice: a part done already does nothing."""
    job = Job.objects.get(pk=job_id)
    written = close_parts.run_part(job, stage, number, acting_user=job.created_by, send=_send_parts)
    return {"results": written or 0}


def regrade(*, period: Period, population: str, acting_user: User | None, reason: str) -> list[Result]:
    """Regrades one population from its current scores and saves what changed (with history)."""
    policy = period.grading_policy
    assert policy is not None  # a closed period always has one
    members = list(Result.objects.filter(period=period, population=population).select_related("sheet", "period")
                   .order_by("pk"))
    given = populations.inputs(period, members, policy,
                               Sheet.objects.filter(period=period, results__population=population))
    changed = populations.grade(policy, period, members, given)
    if changed:
        bulk_update_with_history(changed, Result, GRADE_FIELDS, batch_size=BULK_BATCH_SIZE,
                                 default_user=acting_user, default_change_reason=reason)
    return changed


# --- calibration --------------------------------------------------------------------------------


@transaction.atomic
def calibrate(*, result: Result, score: Decimal, reason: str, acting_user: User | None) -> Result:
    """HR moves a closed period's final score within the policy's cap (S1-9: ±5 %), with a reason;
    the population is regraded. Only while the period is closed and not yet published."""
    period = Period.objects.select_for_update(of=("self",)).select_related("grading_policy").get(
        pk=result.period_id)
    if period.state != Period.State.CLOSED:
        raise IllegalTransition(
            _("Period %(period)s is %(state)s: scores can be calibrated only after closing and before publishing.")
            % {"period": period.code, "state": period.get_state_display()}
        )
    if not reason.strip():
        raise ClosureRefused(_("Give a reason for the calibration: it is kept in the audit trail."))
    result = Result.objects.select_related("sheet", "period").get(pk=result.pk)
    if result.status not in GRADED_STATUSES or result.raw_score is None:
        raise ClosureRefused(_("%(subject)s is %(status)s: there is no score to calibrate.")
                             % {"subject": result.sheet.subject_label,
                                "status": SpecialStatus(result.status).label})
    policy = period.grading_policy
    assert policy is not None
    grading.check_calibration(result.raw_score, score, policy.calibration_share)
    target = None if score == result.raw_score else score
    if target == result.calibrated_score:
        return result  # nothing changes: no audit row, no regrade
    result.calibrated_score = target
    result.calibration_reason = reason.strip()
    result._history_user = acting_user  # type: ignore[attr-defined]
    result._change_reason = reason.strip()  # type: ignore[attr-defined]
    result.save(update_fields=["calibrated_score", "calibration_reason"])
    changed = regrade(period=period, population=result.population, acting_user=acting_user,
                      reason=_("regraded after calibration: %(reason)s") % {"reason": reason.strip()})
    ids = sorted({result.pk, *(r.pk for r in changed)})
    transaction.on_commit(lambda: results_changed.send(sender=Period, period=period, reason="calibrated",
                                                       result_ids=ids))
    result.refresh_from_db()
    return result



# --- sending a closed period back to calibration (退回校准) ---------------------------------------


def reopen_period(*, period: Period, reason: str, acting_user: User | None) -> Period:
    """closed → calibration, before publication, with a reason (kept on the period and in its audit
    trail): the results are retired — removed from the current results, each with a history row
    that keeps every value and the reason — and ``results_changed`` tells payroll, which
    supersedes the pay runs computed from them. The next close writes new results."""
    reason = reason.strip()
    if not reason:
        raise ClosureRefused(_("Give a reason for sending the period back to calibration: it is kept in the audit "
                               "trail."))
    with transaction.atomic():
        current = Period.objects.select_for_update(of=("self",)).get(pk=period.pk)
        if current.state != Period.State.CLOSED:
            raise IllegalTransition(
                _("Period %(period)s cannot be sent back to calibration: it is %(state)s (only a closed period "
                  "that is not published yet can).") % {"period": current.code, "state": current.get_state_display()}
            )
        if current.results_at is None:
            raise ClosureRefused(_("Period %(period)s is still closing.") % {"period": current.code})
        why = (_("sent back to calibration: %(reason)s") % {"reason": reason})[:100]
        ids = _retire_results(current, acting_user=acting_user, reason=why)
        Period.objects.filter(pk=current.pk).update(results_at=None, close_anyway_reason="", incomplete_at_close=0,
                                                    reopened_at=timezone.now(), reopen_reason=reason[:REASON_MAX])
        reopened = move(period=current, to=Period.State.CALIBRATION, acting_user=acting_user, reason=why)
        transaction.on_commit(lambda: results_changed.send(sender=Period, period=reopened, reason="reopened",
                                                           result_ids=ids))
    period.state, period.results_at = reopened.state, None
    return reopened


def _retire_results(period: Period, *, acting_user: User | None, reason: str) -> list[int]:
    """Writes a deletion row ("-", with every value and the reason) to each result's history, then
    removes the results: one COPY and one DELETE, whatever the head count. Appeals cannot exist yet
    (they are filed after publication)."""
    rows = list(Result.objects.filter(period=period).order_by("pk").values_list("pk", *RESULT_COLUMNS))
    audit = (timezone.now(), reason, "-", acting_user.pk if acting_user else None)
    insert_rows(Result.history.model, ["id", *RESULT_COLUMNS, *HISTORY_COLUMNS], (row + audit for row in rows))
    Result.objects.filter(period=period)._raw_delete(Result.objects.db)
    return [row[0] for row in rows]
