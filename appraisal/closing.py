"""Closing a period and what follows: results, regrading, calibration, publication, finalising.

The close runs as a task (:func:`run_close`) in two phases:

1. Every sheet is rescored from its data, set-based and in batches (appraisal.services.
   rescore_sheets). Each batch commits on its own so the page's progress bar moves; rescoring is
   a pure function of the data, so a rerun after a crash computes the same scores.
2. One transaction locks the period row, and unless the period already has results (a
   redelivered task), refuses when a sheet is unscored, grades every population, writes all the
   results with their history and moves the period to "closed". A task killed in phase 2 leaves
   nothing; the unique (organization, sheet) constraint on Result is the last guard.

After that, scores change only through calibration (before publication, within the policy's cap)
or an upheld appeal (appraisal.appeals); both regrade the subject's whole population, because a
quota line can move when one score moves.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from appraisal import grading
from appraisal import rules as rule_engine
from appraisal.models import GradingPolicy, Period, Result, Sheet, SpecialStatus
from appraisal.services import IllegalTransition, rescore_sheets, transition
from appraisal.signals import results_changed
from indicators.models import SubjectKind
from organizations.calendar import add_working_days
from organizations.models import Department, Job, Organization, User
from organizations.tasks import enqueue
from organizations.tenancy import BULK_BATCH_SIZE

ZERO = Decimal("0.00")
CLOSE_JOB = "close_period"
GRADED_STATUSES = (SpecialStatus.NORMAL, SpecialStatus.REFUSED)
GRADE_FIELDS = ["final_score", "rank", "band_grade", "grade", "grade_label", "coefficient", "needs_calibration",
                "explanation", "flags"]


class ClosureRefused(Exception):
    """The period cannot be closed (or published, finalised) as it stands; the message says why."""


def local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _show_time(moment: dt.datetime) -> str:
    return timezone.localtime(moment, local_tz()).strftime("%Y-%m-%d %H:%M")


# --- the close ----------------------------------------------------------------------------------


def period_ref(period: Period) -> str:
    return f"period:{period.pk}"


def start_close(*, period: Period, acting_user: User | None) -> Job:
    """Asks for the period to be closed: checks it can be, records a job and sends the task after
    commit. A second request while a close is queued or running returns the same job."""
    current = Period.objects.get(pk=period.pk)
    if current.state != Period.State.CALIBRATION:
        raise IllegalTransition(
            _("Period %(period)s cannot be closed: it is %(state)s.")
            % {"period": current.code, "state": current.get_state_display()}
        )
    if current.grading_policy_id is None:
        raise ClosureRefused(_("Period %(period)s has no grading policy: choose one before closing.")
                             % {"period": current.code})
    existing = Job.objects.filter(kind=CLOSE_JOB, ref=period_ref(current),
                                  state__in=[Job.State.QUEUED, Job.State.RUNNING]).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            job = Job.objects.create(organization_id=current.organization_id, kind=CLOSE_JOB,
                                     ref=period_ref(current), created_by=acting_user)
            from appraisal.tasks import close_period_task

            enqueue(close_period_task, organization_id=current.organization_id, job_id=job.pk)
    except IntegrityError:  # a concurrent request created it first
        return Job.objects.get(kind=CLOSE_JOB, ref=period_ref(current), state__in=[Job.State.QUEUED,
                                                                                  Job.State.RUNNING])
    return job


def close_job(period: Period) -> Job | None:
    return Job.objects.filter(kind=CLOSE_JOB, ref=period_ref(period)).first()


def run_close(*, job: Job, acting_user: User | None = None) -> dict[str, int]:
    """The close task's body (see the module docstring). Returns counts for the task result."""
    period_id = int(job.ref.split(":")[1])
    period = Period.objects.get(pk=period_id)
    acting_user = acting_user or job.created_by
    Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING, started_at=timezone.now())
    sheet_ids = list(Sheet.objects.filter(period=period).order_by("pk").values_list("pk", flat=True))
    Job.objects.filter(pk=job.pk).update(total=len(sheet_ids), done=0)
    try:
        if period.results_at is None:
            for start in range(0, len(sheet_ids), BULK_BATCH_SIZE):
                batch = sheet_ids[start:start + BULK_BATCH_SIZE]
                with transaction.atomic():
                    rescore_sheets(sheet_ids=batch, acting_user=acting_user, reason="rescored at close")
                Job.objects.filter(pk=job.pk).update(done=start + len(batch))
        with transaction.atomic():
            locked = Period.objects.select_for_update(of=("self",)).get(pk=period_id)
            if locked.results_at is not None:
                written = 0  # a redelivered or repeated task: the results are there already
            else:
                written = _write_results(locked, acting_user=acting_user)
                ids = list(Result.objects.filter(period=locked).values_list("pk", flat=True))
                transaction.on_commit(lambda: results_changed.send(sender=Period, period=locked, reason="closed",
                                                                   result_ids=ids))
    except (ClosureRefused, IllegalTransition, grading.GradingError, grading.ConfigError) as error:
        Job.objects.filter(pk=job.pk).update(state=Job.State.FAILED, message=str(error), finished_at=timezone.now())
        return {"results": 0}
    Job.objects.filter(pk=job.pk).update(
        state=Job.State.DONE, done=len(sheet_ids), finished_at=timezone.now(),
        message=_("%(count)s results written.") % {"count": written} if written else _("The results were there "
                                                                                        "already."))
    return {"results": written}


@dataclass
class _Subject:
    sheet: Sheet
    population: str
    population_label: str


def _populations(period: Period, policy: GradingPolicy, sheets: Sequence[Sheet]) -> list[_Subject]:
    """Each sheet's population key and label: quotas apply within one subject kind and, as the
    policy says, the whole organisation, one department or one department type."""
    departments = {d.pk: d for d in Department.objects.select_related("department_type")}
    kind_labels = dict(SubjectKind.choices)
    organization_name = Organization.objects.get(pk=period.organization_id).name
    subjects = []
    for sheet in sheets:
        if sheet.person_id is not None:
            department_id = sheet.person.department_id if sheet.person else None
        elif sheet.team_id is not None:
            department_id = sheet.team.department_id if sheet.team else None
        else:
            department_id = sheet.department_id
        department = departments.get(department_id) if department_id else None
        kind = sheet.subject_kind
        if policy.population == GradingPolicy.Population.DEPARTMENT and department is not None:
            key, where = f"{kind}:d{department.pk}", department.name
        elif policy.population == GradingPolicy.Population.DEPARTMENT_TYPE and department is not None \
                and department.department_type_id is not None:
            key, where = f"{kind}:t{department.department_type_id}", str(department.department_type)
        else:
            key, where = kind, organization_name
        subjects.append(_Subject(sheet, key, f"{where} · {kind_labels.get(kind, kind)}"))
    return subjects


def _unscored(subjects: Iterable[_Subject]) -> list[str]:
    return [s.sheet.subject_label for s in subjects
            if s.sheet.special_status == SpecialStatus.NORMAL and s.sheet.score is None]


def _write_results(period: Period, *, acting_user: User | None) -> int:
    policy = period.grading_policy
    if policy is None:
        raise ClosureRefused(_("Period %(period)s has no grading policy: choose one before closing.")
                             % {"period": period.code})
    sheets = list(Sheet.objects.filter(period=period).select_related("person", "team", "department")
                  .order_by("pk"))
    subjects = _populations(period, policy, sheets)
    missing = _unscored(subjects)
    if missing:
        shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
        raise ClosureRefused(
            _("Period %(period)s cannot be closed: %(count)s sheet(s) have no score yet: %(names)s.")
            % {"period": period.code, "count": len(missing), "names": shown}
        )
    results = []
    for subject in subjects:
        sheet = subject.sheet
        raw = ZERO if sheet.special_status == SpecialStatus.REFUSED else sheet.score
        results.append(Result(
            organization_id=period.organization_id, period=period, sheet=sheet, subject_kind=sheet.subject_kind,
            person_id=sheet.person_id, population=subject.population, population_label=subject.population_label,
            status=sheet.special_status, raw_score=raw,
        ))
    by_population: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        by_population[result.population].append(result)
    history = _history(period, [r for r in results if r.sheet_id is not None])
    for members in by_population.values():
        _grade(policy, members, history)
    bulk_create_with_history(results, Result, batch_size=BULK_BATCH_SIZE, default_user=acting_user,
                             default_change_reason="closed")
    transition(period=period, to=Period.State.CLOSED, acting_user=acting_user, reason="closed")
    Period.objects.filter(pk=period.pk).update(results_at=timezone.now())
    return len(results)


def _subject_key(result: Result) -> tuple[str, int | None]:
    sheet = result.sheet
    return (result.subject_kind, sheet.person_id or sheet.team_id or sheet.department_id)


History = dict[Any, list[rule_engine.Past]]  # by _subject_key


def _history(period: Period, results: Sequence[Result]) -> History:
    """Each subject's results in the periods of the same kind before this one, oldest first: two
    queries, whatever the number of subjects. A period the subject has no result in is given as
    an empty Past, which breaks a streak."""
    depth = 12
    earlier = list(Period.objects.filter(kind=period.kind, start__lt=period.start, results_at__isnull=False)
                   .order_by("-start")[:depth])
    earlier.reverse()
    rows = Result.objects.filter(period__in=earlier).values_list(
        "period_id", "subject_kind", "sheet__person_id", "sheet__team_id", "sheet__department_id", "final_score",
        "grade")
    found: dict[tuple[str, int | None], dict[int, tuple[Decimal | None, str]]] = defaultdict(dict)
    for period_id, kind, person, team, department, score, grade in rows:
        found[(kind, person or team or department)][period_id] = (score, grade)
    history = {}
    for result in results:
        key = _subject_key(result)
        mine = found.get(key, {})
        history[key] = [
            rule_engine.Past(p.code, *(mine[p.pk][0], mine[p.pk][1] or None) if p.pk in mine else (None, None),
                             year=p.year)
            for p in earlier
        ]
    return history


def _grade(policy: GradingPolicy, members: Sequence[Result], history: History) -> list[Result]:
    """Grades one population in memory: the graded ones by forced distribution, the special
    statuses by the policy's set grades, then the rules. Returns the results that changed."""
    scale = policy.grade_scale()
    before = {id(r): tuple(getattr(r, f) for f in GRADE_FIELDS) for r in members}
    graded = [r for r in members if r.status in GRADED_STATUSES]
    for result in graded:
        result.final_score = result.graded_score()
    distribution = grading.distribute([(index, r.final_score) for index, r in enumerate(graded)], scale,
                                      policy.quotas, rounding=policy.rounding)
    for index, result in enumerate(graded):
        outcome = distribution.result(index)
        result.rank = outcome.rank
        result.band_grade = outcome.band_grade.code
        result.grade = outcome.final_grade.code
        result.grade_label = outcome.final_grade.label
        result.coefficient = outcome.final_grade.coefficient
        result.needs_calibration = outcome.needs_calibration
        explanation = outcome.explanation
        if result.status == SpecialStatus.REFUSED:
            explanation = _("refused to be assessed → 0 points") + "; " + explanation
        result.explanation = explanation
    for result in members:
        if result.status in GRADED_STATUSES:
            continue
        code = policy.status_grades.get(result.status)
        status_label = SpecialStatus(result.status).label
        result.final_score, result.rank, result.band_grade, result.needs_calibration = None, None, "", False
        if code:
            grade = scale.grade(code)
            result.grade, result.grade_label, result.coefficient = grade.code, grade.label, grade.coefficient
            result.explanation = _("%(status)s → set grade %(grade)s") % {"status": status_label, "grade": code}
        else:
            result.grade, result.grade_label, result.coefficient = "", "", None
            result.explanation = _("%(status)s → not assessed") % {"status": status_label}
    current = [
        rule_engine.Outcome(key=_subject_key(r), score=r.final_score, grade=r.grade or None, rank=r.rank,
                            population=len(graded), status=r.status)
        for r in members
    ]
    flags: dict[Any, list[dict[str, str]]] = defaultdict(list)
    period = members[0].period if members else None
    flags_found: list[rule_engine.Flag] = []
    if period is not None and policy.rules:
        flags_found = rule_engine.evaluate(policy.rules, current, {o.key: history.get(o.key, []) for o in current},
                                           period=period.code, year=period.year)
    for flag in flags_found:
        flags[flag.key].append({"rule": flag.rule_code, "outcome": flag.outcome, "message": flag.message})
    for result in members:
        result.flags = flags.get(_subject_key(result), [])
    return [r for r in members if tuple(getattr(r, f) for f in GRADE_FIELDS) != before[id(r)]]


def regrade(*, period: Period, population: str, acting_user: User | None, reason: str) -> list[Result]:
    """Regrades one population from its current scores and saves what changed (with history)."""
    policy = period.grading_policy
    assert policy is not None  # a closed period always has one
    members = list(Result.objects.filter(period=period, population=population).select_related("sheet", "period")
                   .order_by("pk"))
    changed = _grade(policy, members, _history(period, members))
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


# --- publication and the review window ----------------------------------------------------------


def window_end(organization: Organization, published_at: dt.datetime) -> dt.datetime:
    """The moment the review window closes: the end (24:00, Asia/Shanghai) of the Nth calendar or
    working day after the day of publication. Working days follow the HR-editable calendar,
    holidays and make-up working days (调休) included; a year without data is refused."""
    day = timezone.localtime(published_at, local_tz()).date()
    length = organization.review_window_length
    if organization.review_window_unit == Organization.WindowUnit.WORKING_DAYS:
        last = add_working_days(organization, day, length)
    else:
        last = day + dt.timedelta(days=length)
    return dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0, 0), tzinfo=local_tz())


def publish(*, period: Period, acting_user: User | None, now: dt.datetime | None = None) -> Period:
    """closed → published: the results become visible to the people they concern and the review
    window opens. Refused while a tie or an unenforceable cap waits for calibration: publishing
    would break it silently."""
    now = now or timezone.now()
    with transaction.atomic():
        current = Period.objects.select_for_update(of=("self",)).get(pk=period.pk)
        if current.state == Period.State.CLOSED and current.results_at is None:
            raise ClosureRefused(_("Period %(period)s is still closing.") % {"period": current.code})
        if current.state == Period.State.CLOSED:
            waiting = list(Result.objects.filter(period=current, needs_calibration=True)
                           .values_list("sheet__person__name", flat=True)[:10])
            if waiting:
                raise ClosureRefused(
                    _("Period %(period)s cannot be published: calibrate first (%(names)s are tied at a quota line "
                      "or over the lowest grade's cap).") % {"period": current.code,
                                                             "names": ", ".join(n or "?" for n in waiting)}
                )
        organization = Organization.objects.get(pk=current.organization_id)
        ends = window_end(organization, now)
        published = transition(period=current, to=Period.State.PUBLISHED, acting_user=acting_user,
                               reason="published")
        Period.objects.filter(pk=current.pk).update(published_at=now, window_ends_at=ends)
    published.published_at, published.window_ends_at = now, ends
    period.state, period.published_at, period.window_ends_at = published.state, now, ends
    return published


def finalise(*, period: Period, acting_user: User | None, now: dt.datetime | None = None) -> Period:
    """published → final once the window has ended and every appeal is answered. Results nobody
    appealed are confirmed by silence (S1-4), with the window's end as the moment."""
    now = now or timezone.now()
    with transaction.atomic():
        current = Period.objects.select_for_update(of=("self",)).get(pk=period.pk)
        if current.state != Period.State.PUBLISHED:
            raise IllegalTransition(
                _("Period %(period)s cannot be finalised: it is %(state)s.")
                % {"period": current.code, "state": current.get_state_display()}
            )
        assert current.window_ends_at is not None
        if now < current.window_ends_at:
            raise ClosureRefused(
                _("Period %(period)s cannot be finalised before its review window ends at %(end)s.")
                % {"period": current.code, "end": _show_time(current.window_ends_at)}
            )
        from appraisal.models import Appeal

        open_appeals = Appeal.objects.filter(result__period=current,
                                             state__in=[Appeal.State.FILED, Appeal.State.FORWARDED]).count()
        if open_appeals:
            raise ClosureRefused(
                _("Period %(period)s cannot be finalised: %(count)s appeal(s) are still open.")
                % {"period": current.code, "count": open_appeals}
            )
        Result.objects.filter(period=current, confirmed_at__isnull=True).update(confirmed_at=current.window_ends_at)
        final = transition(period=current, to=Period.State.FINAL, acting_user=acting_user, reason="finalised")
        Period.objects.filter(pk=current.pk).update(finalised_at=now)
    period.state = final.state
    return final


def due_for_tick(now: dt.datetime) -> list[tuple[int, int, str]]:
    """(organization id, period id, step) of every period the periodic tick should move, across
    tenants: closed periods past their publication date, published ones past their window.
    The caller sends one task per period, so one organisation's work never waits on another's."""
    from django_scopes import scopes_disabled

    with scopes_disabled():
        publish_due = Period.objects.filter(state=Period.State.CLOSED, results_at__isnull=False,
                                            publish_due__isnull=False, publish_due__lte=now)
        finalise_due = Period.objects.filter(state=Period.State.PUBLISHED, window_ends_at__lte=now)
        return ([(p.organization_id, p.pk, "publish") for p in publish_due]
                + [(p.organization_id, p.pk, "finalise") for p in finalise_due])
