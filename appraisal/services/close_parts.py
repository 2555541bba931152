"""The close in parts, so that several workers, on several hosts, share one close (issue #14).

A close goes in three stages, each a step any worker may take (organizations.fanout):

1. **rescore** — the stale sheets (their data changed since they were last scored), in ranges of
   sheet ids, CLOSE_PART_SHEETS stale sheets a part. Batches commit as they go and rescoring is a
   pure function of the data, so a part killed half-way rescores only the rest when taken again.
   Figures may still be entered meanwhile: an entry rescores its own sheet.
2. **grade** — whoever finishes the last rescoring part locks the period's row (which waits for
   every entry in flight: appraisal.services.common.lock_for_entry), rescores what was entered
   meanwhile, refuses the close if it must (incomplete sheets, open child periods) and marks the
   period closing (``Period.closing_since``: from then on figures are refused, so every part reads
   the same data). Then the populations are shared out into parts (whole populations only, so a
   quota is never split: by department, or by department type, or one part for a policy over the
   whole organisation), each CLOSE_PART_SHEETS sheets or so. A part grades its populations and
   stages their results (appraisal.StagedResult), invisible to anyone, in one transaction with its
   being done: a part run twice stages once.
3. **finish** — whoever finishes the last grading part writes every staged result as a result in
   one transaction that also closes the period, so the results appear all at once and a partial
   close is never seen. Run twice, the second finds the results there and writes nothing.

A refusal in any stage fails the job with its reason, and the period takes figures again. With
one worker, or none (the embedded demo, tests: ``send`` runs the parts in this process), it is the
same steps one after the other.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from appraisal import grading, selectors
from appraisal.models import STALE, GradingPolicy, Period, Sheet, StagedResult
from appraisal.services import populations
from appraisal.services.close_drafts import (
    REASON_MAX,
    ClosureRefused,
    flag_incomplete,
    publish_staged,
    refuse_incomplete,
    refuse_open_children,
    result_values,
    scores_at_close,
)
from appraisal.services.common import IllegalTransition
from appraisal.services.periods import transition
from appraisal.services.populations import Draft
from appraisal.services.rescoring import rescore_period
from appraisal.signals import results_changed
from core.bulk import insert_rows, no_cyclic_gc
from core.translation import cached_translations
from organizations import fanout
from organizations.chunks import JobChunk
from organizations.jobs import ACTIVE
from organizations.models import Department, Job, User

RESCORE, GRADE = "rescore", "grade"
REFUSALS = (ClosureRefused, IllegalTransition, grading.GradingError, grading.ConfigError)
# Sends the parts of a stage (the task's messages, or runs them here); returns the results written
# when a part it ran finished the close.
Send = Callable[[Job, str, list[int]], int | None]


def part_size() -> int:
    return max(1, int(settings.CLOSE_PART_SHEETS))


# --- the stages -------------------------------------------------------------------------------------


def begin(job: Job, *, acting_user: User | None, send: Send) -> int | None:
    """The close's first step: plans the rescoring parts and sends them (or, with nothing stale,
    goes on to grading). Delivered again (its worker was killed), it sends once more whatever the
    stage the close has reached has not done."""
    period = Period.objects.get(pk=job.subject_id)
    if period.results_at is not None:
        return finish(job, acting_user=acting_user)  # closed by a delivery before this one
    if JobChunk.objects.filter(job=job).exists():
        return resume(job, acting_user=acting_user, send=send)
    stale = list(Sheet.objects.filter(period=period).filter(STALE).order_by("pk").values_list("pk", flat=True))
    size = part_size()
    ranges = [stale[i:i + size] for i in range(0, len(stale), size)]
    with transaction.atomic():
        now = timezone.now()
        Job.objects.filter(pk=job.pk, state__in=ACTIVE).update(
            state=Job.State.RUNNING, started_at=now, heartbeat_at=now,
            total=len(stale) + Sheet.objects.filter(period=period).count())
        numbers = fanout.plan(job, RESCORE, [fanout.Part({"from": r[0], "to": r[-1]}, total=len(r)) for r in ranges])
    if numbers:
        return send(job, RESCORE, numbers)
    return start_grading(job, acting_user=acting_user, send=send) if not ranges else None


def resume(job: Job, *, acting_user: User | None, send: Send) -> int | None:
    """Sends again the parts not done of the stage the close is in (a part still running elsewhere
    is then run twice, which writes once), or takes the step after the last one done."""
    rescoring = fanout.pending(job, RESCORE)
    if rescoring:
        return send(job, RESCORE, rescoring)
    if not JobChunk.objects.filter(job=job, stage=GRADE).exists():
        return start_grading(job, acting_user=acting_user, send=send)
    grading_left = fanout.pending(job, GRADE)
    if grading_left:
        return send(job, GRADE, grading_left)
    return finish(job, acting_user=acting_user)


def run_part(job: Job, stage: str, number: int, *, acting_user: User | None, send: Send) -> int | None:
    """Runs one part (a message of the close's), then, if it was the stage's last, the next stage."""
    try:
        if stage == RESCORE:
            _rescore_part(job, number, acting_user=acting_user)
            if fanout.stage_done(job, RESCORE):
                return start_grading(job, acting_user=acting_user, send=send)
        elif stage == GRADE:
            _grade_part(job, number)
            if fanout.stage_done(job, GRADE):
                return finish(job, acting_user=acting_user)
        else:
            raise ValueError(f"a close has no stage {stage!r}")
    except REFUSALS as error:
        fail(job, str(error))
    return None


def start_grading(job: Job, *, acting_user: User | None, send: Send) -> int | None:
    """Between rescoring and grading (see the module docstring): the last checks under the
    period's lock, the period marked closing, the grading parts planned and sent."""
    try:
        with transaction.atomic():
            current = Job.objects.select_for_update().get(pk=job.pk)  # two last parts at once: one goes on
            if current.finished or JobChunk.objects.filter(job=job, stage=GRADE).exists():
                return None
            period = Period.objects.select_for_update(no_key=True, of=("self",)).select_related(
                "grading_policy").get(pk=job.subject_id)
            if period.results_at is None:
                # What was entered while the parts rescored, in this transaction: nothing is left stale.
                rescore_period(period=period, acting_user=acting_user, reason="rescored at close")
                policy = _policy(period)
                if not anyway_reason(job):
                    refuse_incomplete(period)
                refuse_open_children(period)
                Period.objects.filter(pk=period.pk).update(closing_since=timezone.now())
                numbers = fanout.plan(job, GRADE, grading_parts(period, policy))
    except REFUSALS as error:
        fail(job, str(error))
        return None
    if period.results_at is not None:
        return finish(job, acting_user=acting_user)
    return send(job, GRADE, numbers)


def finish(job: Job, *, acting_user: User | None) -> int:
    """The close's last step: every staged result written as a result, the period closed and the
    job done, in one transaction. Returns how many results it wrote (0: they were there already)."""
    with transaction.atomic(), no_cyclic_gc():
        period = Period.objects.select_for_update(no_key=True, of=("self",)).get(pk=job.subject_id)
        written = 0
        if period.results_at is None:
            if not fanout.stage_done(job, GRADE) or not Job.objects.filter(pk=job.pk, state__in=ACTIVE).exists():
                return 0  # a part is still grading (it finishes the close), or the close failed
            ids = _publish_staged(period, job, acting_user=acting_user)
            written = len(ids)
            transaction.on_commit(lambda: results_changed.send(sender=Period, period=period, reason="closed",
                                                               result_ids=ids))
        StagedResult.objects.filter(period=period)._raw_delete(StagedResult.objects.db)
        Job.objects.filter(pk=job.pk, state__in=ACTIVE).update(
            state=Job.State.DONE, done=Job.objects.get(pk=job.pk).total, finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
            message=_("%(count)s results written.") % {"count": written} if written else _("The results were there "
                                                                                            "already."))
    return written


def fail(job: Job, message: str) -> None:
    """The close is refused or cannot grade: the job fails with the reason, what the parts staged
    goes, and the period takes figures again."""
    with transaction.atomic():
        Job.objects.filter(pk=job.pk, state__in=ACTIVE).update(state=Job.State.FAILED, message=message,
                                                               finished_at=timezone.now())
        Period.objects.filter(pk=job.subject_id, results_at__isnull=True).update(closing_since=None)
        StagedResult.objects.filter(job=job).delete()


def anyway_reason(job: Job) -> str:
    """HR's reason for closing with incomplete sheets, when the job closes anyway (start_close)."""
    params = job.params or {}
    return str(params.get("reason", "")) if params.get("anyway") else ""


def _policy(period: Period) -> GradingPolicy:
    if period.grading_policy is None:
        raise ClosureRefused(_("Period %(period)s has no grading policy: choose one before closing.")
                             % {"period": period.code})
    return period.grading_policy


# --- the parts --------------------------------------------------------------------------------------


def _rescore_part(job: Job, number: int, *, acting_user: User | None) -> None:
    with fanout.taking(job, RESCORE, number) as chunk:
        if chunk is None:
            return  # done already (a message delivered twice), or the close ended
        period = Period.objects.get(pk=job.subject_id)
        ends = (int(chunk.params["from"]), int(chunk.params["to"]))
        # A sheet edited while the part read it is skipped and stays stale: once more for those (the
        # grading step rescores whatever is still stale under the period's lock).
        for _attempt in range(2):
            counted = rescore_period(period=period, acting_user=acting_user, reason="rescored at close", sheets=ends,
                                     progress=lambda done: fanout.progress(job.pk, chunk, done))
            if not counted.skipped:
                break
        with transaction.atomic():
            fanout.finish(chunk)


def _grade_part(job: Job, number: int) -> None:
    with fanout.taking(job, GRADE, number) as chunk:
        if chunk is None:
            return
        period = Period.objects.select_related("grading_policy").get(pk=job.subject_id)
        part = part_filter(chunk.params)
        reason = anyway_reason(job)
        incomplete = (set(selectors.incomplete_sheets(Sheet.objects.filter(period=period).filter(part))
                          .values_list("pk", flat=True)) if reason else set())
        with cached_translations(), no_cyclic_gc():
            drafts = scores_at_close(period, _policy(period), anyway=bool(incomplete), part=part)
            flag_incomplete(drafts, incomplete, reason)
            _grade(period, drafts, Sheet.objects.filter(period=period).filter(part))
            rows = [(period.organization_id, job.pk, number, period.pk, d.sheet_id, result_values(d)) for d in drafts]
        with transaction.atomic():
            if fanout.finish(chunk, incomplete=len(incomplete)):
                insert_rows(StagedResult, ["organization_id", "job_id", "chunk", "period_id", "sheet_id", "values"],
                            rows)


def _grade(period: Period, drafts: Sequence[Draft], sheets: Any) -> None:
    policy = _policy(period)
    by_population: dict[str, list[Draft]] = defaultdict(list)
    for draft in drafts:
        by_population[draft.population].append(draft)
    given = populations.inputs(period, drafts, policy, sheets)
    for members in by_population.values():
        populations.grade(policy, period, members, given, changes=False)


def _publish_staged(period: Period, job: Job, *, acting_user: User | None) -> list[int]:
    """Writes the staged results as results and closes the period (inside finish's transaction)."""
    ids = publish_staged(period, job.pk, acting_user=acting_user)
    incomplete = sum(int(params.get("incomplete", 0)) for params in fanout.chunk_params(job, GRADE))
    reason = anyway_reason(job) if incomplete else ""
    why = "closed"
    if reason:
        Period.objects.filter(pk=period.pk).update(close_anyway_reason=reason[:REASON_MAX],
                                                   incomplete_at_close=incomplete)
        why = (_("closed with %(count)s incomplete sheet(s): %(reason)s")
               % {"count": incomplete, "reason": reason})[:100]
    transition(period=period, to=Period.State.CLOSED, acting_user=acting_user, reason=why)
    Period.objects.filter(pk=period.pk).update(results_at=timezone.now(), closing_since=None)
    return ids


# --- sharing the populations out --------------------------------------------------------------------

# Where a sheet's subject sits: its person's or team's department, or the department it is of.
WHERE = Coalesce("person__department_id", "team__department_id", "department_id")


def grading_parts(period: Period, policy: GradingPolicy) -> list[fanout.Part]:
    """The period's populations shared out into parts of about CLOSE_PART_SHEETS sheets, a
    population never split (the heaviest first, each to the lightest part so far). One query."""
    counts: dict[int | None, int] = dict(Sheet.objects.filter(period=period).annotate(where=WHERE)
                                         .values("where").annotate(n=Count("pk")).values_list("where", "n"))
    total = sum(counts.values())
    if policy.population == GradingPolicy.Population.ORGANIZATION or not counts:
        return [fanout.Part({"all": True}, total=total)]
    groups: dict[Any, list[int | None]] = defaultdict(list)
    if policy.population == GradingPolicy.Population.DEPARTMENT_TYPE:
        types = dict(Department.objects.values_list("pk", "department_type_id"))
        for where in counts:
            groups[types.get(where) if where is not None else None].append(where)  # untyped: one population
    else:
        for where in counts:
            groups[where].append(where)
    count = max(1, min(len(groups), math.ceil(total / part_size())))
    bins: list[list[int | None]] = [[] for _ in range(count)]
    loads = [0] * count
    for members in sorted(groups.values(), key=lambda m: -sum(counts[w] for w in m)):
        lightest = loads.index(min(loads))
        bins[lightest] += members
        loads[lightest] += sum(counts[w] for w in members)
    return [fanout.Part({"departments": sorted(w for w in b if w is not None), "rest": None in b}, total=load)
            for b, load in zip(bins, loads, strict=True) if b]


def part_filter(params: dict[str, Any]) -> Q:
    """The sheets of a grading part: those whose subject sits in its departments (and, for the part
    with ``rest``, those that sit in none)."""
    if params.get("all"):
        return Q()
    ids = list(params.get("departments", []))
    alone = Q(person__isnull=True, team__isnull=True)
    where = Q(person__department_id__in=ids) | Q(team__department_id__in=ids) | (alone & Q(department_id__in=ids))
    if params.get("rest"):
        where |= (Q(person__isnull=False, person__department__isnull=True)
                  | Q(team__isnull=False, team__department__isnull=True) | (alone & Q(department__isnull=True)))
    return where
