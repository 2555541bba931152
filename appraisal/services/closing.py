"""Closing a period and what follows: results, regrading, calibration (then publication and
finalising, in :mod:`appraisal.services.window`).

The close runs as a task (:func:`run_close`) in two phases:

1. Every stale sheet (its data changed since it was last scored; Sheet.data_version, kept by
   database triggers) is rescored from its data, set-based (appraisal.services.rescoring.rescore_period:
   each table read once, in sheet order). What changed is saved in batches that commit on their own,
   and the job's progress moves every 5 %; rescoring is a pure function of the data, so a rerun
   after a crash computes the same scores, and only for the sheets a committed batch did not cover
   (a close whose worker died — no heartbeat, organizations.jobs — is restarted by restart_close).
2. One transaction locks the period row, and unless the period already has results (a
   redelivered task), refuses when a sheet is unscored, grades every population, writes all the
   results with their history and moves the period to "closed". A task killed in phase 2 leaves
   nothing; the unique (organization, sheet) constraint on Result is the last guard.

Incomplete sheets (appraisal.selectors.incomplete_sheets: a rater whose missing rating does not
count as 0 has not rated, or a line has no score) refuse the close when HR asks for it and again in
phase 2, unless HR closes anyway with a reason: then every missing rating counts 0 (as the
provisional totals showed it while the period ran), a line without data scores 0 points, the
results of those sheets carry the flag "incomplete", and the reason is kept on the period and in its
audit trail. A sheet with a special status is never incomplete.

After that, scores change only through calibration (before publication, within the policy's cap)
or an upheld appeal (appraisal.appeals); both regrade the subject's whole population, because a
quota line can move when one score moves. Before publication HR may also send the period back to
calibration (reopen_period): the results are retired to their history and payroll is told.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from celery import shared_task
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from appraisal import grading, selectors
from appraisal.models import GradingPolicy, Period, Result, Sheet, SheetLine, SpecialStatus
from appraisal.services import populations, rollup, unit_share
from appraisal.services.common import IllegalTransition
from appraisal.services.periods import move, transition
from appraisal.services.populations import GRADE_FIELDS, GRADED_STATUSES, INCOMPLETE_FLAG
from appraisal.services.populations import Draft as _Draft
from appraisal.services.rescoring import rescore_period
from appraisal.services.scoring import SheetScore, score_sheet
from appraisal.signals import results_changed
from core.bulk import HISTORY_COLUMNS, insert_rows, no_cyclic_gc
from core.translation import cached_translations
from indicators.models import SubjectKind, TemplatePart
from organizations import jobs
from organizations.jobs import ACTIVE, jobs_of, start_job
from organizations.models import Department, DepartmentType, Job, Organization, User
from organizations.tasks import TenantTask, enqueue
from organizations.tenancy import BULK_BATCH_SIZE

ZERO = Decimal("0.00")
CLOSE_JOB = Job.Kind.CLOSE_PERIOD
NAMED = 5  # sheets a refusal names before "…"
REASON_MAX = 300


class ClosureRefused(Exception):
    """The period cannot be closed (or published, finalised) as it stands; the message says why."""


class IncompleteSheets(ClosureRefused):
    """The close is refused because sheets are incomplete (appraisal.selectors.incomplete_sheets):
    ``count`` of them, the first few named in the message; ``sheet_ids`` the first ones, in order."""

    def __init__(self, period: Period, count: int, sheet_ids: list[int], names: list[str]) -> None:
        shown = ", ".join(names) + (" …" if count > len(names) else "")
        super().__init__(
            _("Period %(period)s cannot be closed: %(count)s sheet(s) are incomplete (a rater has not rated, or a "
              "line has no data): %(names)s. Complete them, set a special status on them, or close anyway with a "
              "reason.") % {"period": period.code, "count": count, "names": shown}
        )
        self.count, self.sheet_ids = count, sheet_ids


def refuse_incomplete(period: Period) -> list[int]:
    """Raises IncompleteSheets when the period has incomplete sheets; else returns []."""
    incomplete = selectors.incomplete_sheets(Sheet.objects.filter(period=period))
    count = incomplete.count()
    if not count:
        return []
    first = list(incomplete.select_related("person", "team", "department").order_by("pk")[:NAMED])
    raise IncompleteSheets(period, count, [s.pk for s in first], [s.subject_label for s in first])


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


def run_close(*, job: Job, acting_user: User | None = None) -> dict[str, int]:
    """The close task's body (see the module docstring). Returns counts for the task result."""
    period = Period.objects.get(pk=job.subject_id)
    acting_user = acting_user or job.created_by
    if Job.objects.filter(pk=job.pk, state__in=[Job.State.DONE, Job.State.FAILED]).exists():
        return {"results": 0}  # redelivered after it finished or was retired: the period may have moved on
    total = Sheet.objects.filter(period=period).count()
    with jobs.running(job, total=total, done=0):  # beats while it works; dead once it stops beating
        try:
            if period.results_at is None:
                # Batches commit as they go and their sheets are fresh after: a rerun rescores the rest.
                # A sheet edited while the close read it is skipped and stays stale: once more for those.
                for _attempt in range(2):
                    rescored = rescore_period(period=period, acting_user=acting_user, reason="rescored at close",
                                              progress=lambda done: jobs.beat(job.pk, done=done))
                    if not rescored.skipped:
                        break
            with transaction.atomic():
                # Waits for every entry in flight (each holds the period's row FOR SHARE: services.common.
                # lock_for_entry) and makes later ones wait, then find the period closed: no save is
                # left out of the results. NO KEY: the foreign-key checks of rows written meanwhile pass.
                locked = Period.objects.select_for_update(no_key=True, of=("self",)).get(pk=period.pk)
                if locked.results_at is not None:
                    written = 0  # a redelivered or repeated task: the results are there already
                else:
                    ids = _write_results(locked, acting_user=acting_user, anyway=_anyway(job))
                    written = len(ids)
                    transaction.on_commit(lambda: results_changed.send(sender=Period, period=locked,
                                                                       reason="closed", result_ids=ids))
        except (ClosureRefused, IllegalTransition, grading.GradingError, grading.ConfigError) as error:
            Job.objects.filter(pk=job.pk).update(state=Job.State.FAILED, message=str(error),
                                                 finished_at=timezone.now())
            return {"results": 0}
    Job.objects.filter(pk=job.pk).update(
        state=Job.State.DONE, done=total, finished_at=timezone.now(),
        message=_("%(count)s results written.") % {"count": written} if written else _("The results were there "
                                                                                        "already."))
    return {"results": written}


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


def _anyway(job: Job) -> str:
    """HR's reason for closing with incomplete sheets, when the job closes anyway (start_close)."""
    params = job.params or {}
    return str(params.get("reason", "")) if params.get("anyway") else ""


@shared_task(base=TenantTask, bind=True, name="appraisal.close_period", acks_late=True)
def close_period_task(self: TenantTask, *, organization_id: int, job_id: int) -> dict[str, int]:
    """Closes the period a job names. Safe to run twice: the second run finds the results written."""
    return run_close(job=Job.objects.get(pk=job_id))


def population_drafts(period: Period, policy: GradingPolicy) -> tuple[list[_Draft], list[int]]:
    """A draft result per sheet, with its population key and label (quotas apply within one
    subject kind and, as the policy says, the whole organisation, one department or one
    department type), and the ids of the sheets that should have a score and have none. Reads
    tuples: three queries whatever the number of sheets."""
    departments, department_names = {}, {}
    for pk, type_id, name in Department.objects.values_list("pk", "department_type_id", "name"):
        departments[pk], department_names[pk] = type_id, name
    type_names = {pk: str(t) for pk, t in ((t.pk, t) for t in DepartmentType.objects.all())}
    kind_labels = dict(SubjectKind.choices)
    organization_name = Organization.objects.get(pk=period.organization_id).name
    rows = Sheet.objects.filter(period=period).order_by("pk").values_list(
        "pk", "subject_kind", "person_id", "team_id", "department_id", "person__department_id",
        "team__department_id", "special_status", "score")
    by_department = policy.population == GradingPolicy.Population.DEPARTMENT
    by_type = policy.population == GradingPolicy.Population.DEPARTMENT_TYPE
    drafts, unscored = [], []
    labels: dict[tuple[str, str], str] = {}
    for sheet_id, kind, person_id, team_id, department_id, person_dept, team_dept, status, score in rows:
        if person_id is not None:
            where_id = person_dept
        elif team_id is not None:
            where_id = team_dept
        else:
            where_id = department_id
        if by_department and where_id is not None:
            key, where = f"{kind}:d{where_id}", department_names[where_id]
        elif by_type and where_id is not None and departments.get(where_id) is not None:
            type_id = departments[where_id]
            key, where = f"{kind}:t{type_id}", type_names[type_id]
        else:
            key, where = kind, organization_name
        label = labels.get((key, where))
        if label is None:
            label = labels[(key, where)] = f"{where} · {kind_labels.get(kind, kind)}"
        if status == SpecialStatus.NORMAL and score is None:
            unscored.append(sheet_id)
        drafts.append(_Draft(sheet_id=sheet_id, subject_kind=kind, subject_id=person_id or team_id or department_id,
                             person_id=person_id, population=key, population_label=label, status=status,
                             raw_score=ZERO if status == SpecialStatus.REFUSED else score))
    return drafts, unscored


def _write_results(period: Period, *, acting_user: User | None, anyway: str = "") -> list[int]:
    """Grades every population and writes the results with their audit rows; returns their ids.
    ``anyway``: HR's reason for closing with incomplete sheets (see start_close)."""
    policy = period.grading_policy
    if policy is None:
        raise ClosureRefused(_("Period %(period)s has no grading policy: choose one before closing.")
                             % {"period": period.code})
    incomplete: list[int] = []
    if anyway:
        incomplete = list(selectors.incomplete_sheets(Sheet.objects.filter(period=period)).order_by("pk")
                          .values_list("pk", flat=True))
        anyway = anyway if incomplete else ""  # completed meanwhile: an ordinary close
    else:
        refuse_incomplete(period)
    refuse_open_children(period)
    with cached_translations(), no_cyclic_gc():
        drafts = _scores_at_close(period, policy, anyway=bool(anyway))
        _flag_incomplete(drafts, set(incomplete), anyway)
        by_population: dict[str, list[_Draft]] = defaultdict(list)
        for draft in drafts:
            by_population[draft.population].append(draft)
        given = populations.inputs(period, drafts, policy, Sheet.objects.filter(period=period))
        for members in by_population.values():
            populations.grade(policy, period, members, given, changes=False)
        ids = _insert_results(period, drafts, acting_user=acting_user)
    reason = "closed"
    if anyway:
        Period.objects.filter(pk=period.pk).update(close_anyway_reason=anyway[:REASON_MAX],
                                                   incomplete_at_close=len(incomplete))
        reason = (_("closed with %(count)s incomplete sheet(s): %(reason)s")
                  % {"count": len(incomplete), "reason": anyway})[:100]
    transition(period=period, to=Period.State.CLOSED, acting_user=acting_user, reason=reason)
    Period.objects.filter(pk=period.pk).update(results_at=timezone.now())
    return ids


def _scores_at_close(period: Period, policy: GradingPolicy, *, anyway: bool) -> list[_Draft]:
    """The drafts with their scores at close: the sheets' scores (a missing one counting 0 when HR
    closes anyway), combined with the unit's result where the template says so
    (appraisal.services.unit_share) and with the child periods' results where the period rolls them up
    (appraisal.services.rollup). Refuses when a normal sheet is left without a score."""
    drafts, unscored = population_drafts(period, policy)
    if unscored and anyway:
        _count_missing_as_zero(period, drafts)
    unit_share.combine(period, drafts)  # the unit's result first: a roll-up then combines the blended score
    rollup.combine(period, drafts)
    if unscored and not anyway:
        missing = set(unscored)
        unscored = [d.sheet_id for d in drafts if d.sheet_id in missing and d.raw_score is None]
    if unscored and not anyway:
        names = [s.subject_label for s in Sheet.objects.filter(pk__in=unscored[:10]).select_related(
            "person", "team", "department").order_by("pk")]
        shown = ", ".join(names) + (" …" if len(unscored) > 10 else "")
        raise ClosureRefused(
            _("Period %(period)s cannot be closed: %(count)s sheet(s) have no score yet: %(names)s.")
            % {"period": period.code, "count": len(unscored), "names": shown}
        )
    return drafts


def refuse_open_children(period: Period) -> None:
    """A period that rolls up child periods closes after them: refused naming those without results."""
    waiting = rollup.open_children(period)
    if waiting:
        raise ClosureRefused(
            _("Period %(period)s cannot be closed before its child periods: %(children)s have no results yet. "
              "Close them first.") % {"period": period.code, "children": ", ".join(waiting)})


def _flag_incomplete(drafts: Sequence[_Draft], incomplete: set[int], reason: str) -> None:
    for draft in drafts:
        if draft.sheet_id in incomplete:
            draft.flags = [{"rule": INCOMPLETE_FLAG, "outcome": "closed_anyway",
                            "message": _("Incomplete at close; missing ratings and data counted as 0. Closed anyway: "
                                         "%(reason)s") % {"reason": reason}}]


def _count_missing_as_zero(period: Period, drafts: Sequence[_Draft]) -> None:
    """The score at close of the normal sheets without a total (a line without data) when HR closes
    anyway: their lines without a score count 0 points (scoring.score_sheet). Three queries."""
    missing = Sheet.objects.filter(period=period, special_status=SpecialStatus.NORMAL, score__isnull=True)
    lines: dict[int, list[SheetLine]] = defaultdict(list)
    for line in SheetLine.objects.filter(sheet__in=missing).select_related("indicator").order_by("sort_order", "pk"):
        lines[line.sheet_id].append(line)
    sheets = list(missing.values_list("pk", "template_id", "template__base_score", "template__rounding"))
    parts: dict[int, list[TemplatePart]] = defaultdict(list)
    for part in TemplatePart.objects.filter(template_id__in={t for _pk, t, _base, _r in sheets}).order_by(
            "sort_order", "pk"):
        parts[part.template_id].append(part)
    scores: dict[int, SheetScore] = {
        pk: score_sheet(base, lines[pk], parts[template], missing_as_zero=True, rounding=rounding)
        for pk, template, base, rounding in sheets}
    for draft in drafts:
        if draft.sheet_id in scores:
            draft.raw_score = scores[draft.sheet_id].score


def _insert_results(period: Period, drafts: Sequence[_Draft], *, acting_user: User | None) -> list[int]:
    """Writes the results, then their audit rows ("+", closed, by whoever closed): one COPY each
    on PostgreSQL, and one query for the new ids in between."""
    def values(draft: _Draft) -> tuple[Any, ...]:
        return (period.organization_id, period.pk, draft.sheet_id, draft.subject_kind, draft.person_id,
                draft.population, draft.population_label, draft.status, draft.raw_score, None, "", None,
                draft.final_score, draft.rank, draft.band_grade, draft.grade, draft.grade_label, draft.coefficient,
                draft.needs_calibration, draft.explanation, draft.flags, None, None, draft.rollup)

    insert_rows(Result, RESULT_COLUMNS, (values(d) for d in drafts))
    ids = dict(Result.objects.filter(period=period).values_list("sheet_id", "pk"))
    audit = (timezone.now(), "closed", "+", acting_user.pk if acting_user else None)
    insert_rows(Result.history.model, ["id", *RESULT_COLUMNS, *HISTORY_COLUMNS],
                ((ids[d.sheet_id], *values(d), *audit) for d in drafts))
    return [ids[d.sheet_id] for d in drafts]


RESULT_COLUMNS = ["organization_id", "period_id", "sheet_id", "subject_kind", "person_id", "population",
                  "population_label", "status", "raw_score", "calibrated_score", "calibration_reason",
                  "appeal_score", "final_score", "rank", "band_grade", "grade", "grade_label", "coefficient",
                  "needs_calibration", "explanation", "flags", "confirmed_at", "acknowledged_at", "rollup"]


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
