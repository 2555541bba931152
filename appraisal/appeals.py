"""Appeals and acknowledgements: the employee's side of the review window.

An employee files an appeal inside the window, against one line or the grade, with a reason and
an optional attachment (S1-4). It goes to their supervisor, who adds an opinion and forwards it;
HR or a member of the policy's appeal group (the supervision group, S1-3) gives the final answer.
Upheld against the grade: the result takes the score HR gives. Upheld against a line: the line
takes its new data (appraisal.appeal_lines), the line and its sheet are rescored, and the result
takes the sheet's new score. Either way the whole population is regraded, because one score can
move a quota line, and ``results_changed`` tells payroll to compute a new pay-run version.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appraisal.appeal_lines import DecisionDataRefused, LineChange, apply_line_change, score_text
from appraisal.models import Appeal, Period, Result, SheetLine, SpecialStatus
from appraisal.services import ZERO, IllegalTransition, extension, rollup
from appraisal.services.closing import regrade
from appraisal.services.window import show_time
from appraisal.signals import results_changed
from core.numbers import quantize
from organizations.models import Department, DepartmentHead, Person, ReviewGroupMember, User

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


class AppealRefused(Exception):
    """The appeal cannot be filed or handled as asked; the message says why."""


def _window_check(period: Period, now: dt.datetime, person_id: int | None = None) -> None:
    if period.state != Period.State.PUBLISHED or period.window_ends_at is None:
        raise AppealRefused(
            _("Period %(period)s is %(state)s: appeals can be filed only while its results are published.")
            % {"period": period.code, "state": period.get_state_display()}
        )
    if now >= period.window_ends_at and not (person_id and extension.appeal_open_for(period, person_id, now)):
        raise AppealRefused(
            _("The review window of %(period)s ended at %(end)s (Beijing time): appeals are no longer accepted.")
            % {"period": period.code, "end": show_time(period.window_ends_at)}
        )


def file_appeal(*, result: Result, acting_user: User | None, filed_by: Person, reason: str,
                line: SheetLine | None = None, attachment: UploadedFile | None = None,
                now: dt.datetime | None = None) -> Appeal:
    """Files an appeal for ``filed_by`` against their own result (or one of its lines)."""
    now = now or timezone.now()
    period = Period.objects.get(pk=result.period_id)
    _window_check(period, now, filed_by.pk)
    if result.person_id != filed_by.pk:
        raise AppealRefused(_("Only the person a result concerns may appeal against it."))
    if not reason.strip():
        raise AppealRefused(_("Give the reason for the appeal."))
    if line is not None and line.sheet_id != result.sheet_id:
        raise AppealRefused(_("The line appealed against is not on this result's score sheet."))
    if attachment is not None and attachment.size is not None and attachment.size > MAX_ATTACHMENT_BYTES:
        raise AppealRefused(_("The attachment is larger than %(mb)s MB.") % {"mb": MAX_ATTACHMENT_BYTES // 2**20})
    appeal = Appeal(organization_id=result.organization_id, result=result, line=line, filed_by=filed_by,
                    reason=reason.strip(), filed_at=now)
    if attachment is not None:
        appeal.attachment.save(attachment.name or "attachment", attachment, save=False)
    appeal._history_user = acting_user  # type: ignore[attr-defined]
    appeal._change_reason = "filed"  # type: ignore[attr-defined]
    try:
        with transaction.atomic():
            appeal.save()
    except IntegrityError:
        raise AppealRefused(_("An appeal against this result is already open.")) from None
    return appeal


def supervisor_user_ids(appeal: Appeal) -> set[int]:
    """Who may give the supervisor's opinion: the person's manager and the heads of their
    department or of any department above it (a head's headship covers the sub-departments)."""
    person = appeal.result.person
    ids: set[int] = set()
    if person is None:
        return ids
    if person.manager_id is not None:
        ids |= set(User.objects.filter(memberships__person_id=person.manager_id,
                                       memberships__organization_id=person.organization_id,
                                       memberships__is_active=True).values_list("pk", flat=True))
    parent_of: dict[int, int | None] = dict(Department.objects.values_list("pk", "parent_id"))
    chain: list[int] = []
    current: int | None = person.department_id
    while current is not None and current not in chain:
        chain.append(current)
        current = parent_of.get(current)
    ids |= set(DepartmentHead.objects.filter(department_id__in=chain).values_list("membership__user_id", flat=True))
    ids.discard(_user_of_person(person))
    return ids


def _user_of_person(person: Person) -> int | None:
    return User.objects.filter(memberships__person=person).values_list("pk", flat=True).first()


def may_decide(appeal: Appeal, *, is_hr: bool, user: User | None) -> bool:
    """HR always; otherwise a member of the policy's appeal group, never on their own appeal."""
    if user is None:
        return False
    if _user_of_person(appeal.filed_by) == user.pk:
        return False
    if is_hr:
        return True
    policy = appeal.result.period.grading_policy
    if policy is None or policy.appeal_group_id is None:
        return False
    return ReviewGroupMember.objects.filter(group_id=policy.appeal_group_id, membership__user=user).exists()


def _locked(appeal: Appeal) -> Appeal:
    """The appeal's row, locked until the transaction ends: of two decisions at once, the second
    waits here and then finds the appeal answered."""
    return Appeal.objects.select_for_update(of=("self",)).select_related("result__period").get(
        pk=appeal.pk)


def forward_appeal(*, appeal: Appeal, acting_user: User | None, opinion: str) -> Appeal:
    """The supervisor's opinion; the appeal goes on to HR or the supervision group."""
    with transaction.atomic():
        current = _locked(appeal)
        if current.state != Appeal.State.FILED:
            raise IllegalTransition(_("This appeal cannot be forwarded: it is %(state)s.")
                                    % {"state": current.get_state_display()})
        if not opinion.strip():
            raise AppealRefused(_("Give your opinion before forwarding the appeal."))
        current.state = Appeal.State.FORWARDED
        current.supervisor_opinion = opinion.strip()
        current.forwarded_at = timezone.now()
        current.forwarded_by = acting_user
        current._history_user = acting_user  # type: ignore[attr-defined]
        current._change_reason = "forwarded"  # type: ignore[attr-defined]
        current.save()
    return current


def _check_open(appeal: Appeal) -> None:
    """Refuses a decision on an appeal that is answered (naming who answered it, and when) or that
    still waits for the supervisor's opinion."""
    if appeal.state in (Appeal.State.UPHELD, Appeal.State.REJECTED):
        raise IllegalTransition(
            _("This appeal has been answered already: %(who)s decided it at %(when)s (Beijing time); it is %(state)s.")
            % {"who": str(appeal.decided_by) if appeal.decided_by else _("someone"),
               "when": show_time(appeal.decided_at) if appeal.decided_at else "—",
               "state": appeal.get_state_display()})
    if appeal.state == Appeal.State.FILED:
        raise IllegalTransition(_("This appeal is %(state)s: the supervisor's opinion comes first.")
                                % {"state": appeal.get_state_display()})


def decide_appeal(*, appeal: Appeal, acting_user: User | None, upheld: bool, reason: str,
                  new_score: Decimal | None = None, line_change: LineChange | None = None) -> Appeal:
    """The final answer (S1-3), given once: the appeal's row is locked, so of two decisions at once
    the second is refused, naming who decided. Rejected → the reason is shown to the employee.
    Upheld against the grade → the result's score becomes ``new_score``; upheld against a line →
    the line takes ``line_change`` (its new data, appraisal.appeal_lines), the line and the sheet
    are rescored and the result's score follows from the sheet. Either way the population is
    regraded and payroll told. Decisions may come after the window ends: the appeal was filed
    inside it."""
    with transaction.atomic():
        current = _locked(appeal)
        _check_open(current)
        if not reason.strip():
            raise AppealRefused(_("Give the reason for the decision: the employee will see it."))
        period = Period.objects.select_for_update(of=("self",)).select_related("grading_policy").get(
            pk=current.result.period_id)
        if period.state not in (Period.State.PUBLISHED, Period.State.FINAL):
            raise IllegalTransition(_("Period %(period)s is %(state)s: appeals cannot be decided now.")
                                    % {"period": period.code, "state": period.get_state_display()})
        current.state = Appeal.State.UPHELD if upheld else Appeal.State.REJECTED
        current.decision_reason = reason.strip()
        current.decided_at = timezone.now()
        current.decided_by = acting_user
        current.new_score = None
        if upheld:
            result = Result.objects.select_related("sheet").get(pk=current.result_id)
            audit_reason = _("appeal upheld: %(reason)s") % {"reason": current.decision_reason}
            if current.line_id is None:
                current.new_score = _typed_score(new_score, line_change)
            else:
                current.new_score, current.line_change = _score_from_line(
                    current, result, new_score, line_change, acting_user=acting_user, reason=audit_reason)
        current._history_user = acting_user  # type: ignore[attr-defined]
        current._change_reason = current.state  # type: ignore[attr-defined]
        current.save()
        if upheld:
            _rescore_result(result, period, current, acting_user=acting_user)
    return current


def _typed_score(new_score: Decimal | None, line_change: LineChange | None) -> Decimal:
    """An upheld appeal against the grade: the new score HR gives."""
    if line_change is not None and not line_change.empty():
        raise DecisionDataRefused("line_data", _("This appeal is against the grade and names no line: give the new "
                                             "score instead."))
    if new_score is None:
        raise DecisionDataRefused("new_score", _("An upheld appeal needs the new score."))
    return quantize(new_score)


def _score_from_line(appeal: Appeal, result: Result, new_score: Decimal | None, line_change: LineChange | None,
                     *, acting_user: User | None, reason: str) -> tuple[Decimal, dict[str, object]]:
    """An upheld appeal against a line: the line takes its new data and is rescored with its sheet;
    the result's new score is the sheet's new score (with any calibration made before publication
    kept on top). Returns that score and what changed, for Appeal.line_change."""
    assert appeal.line is not None
    if new_score is not None:
        raise DecisionDataRefused("new_score", _("This appeal is against %(indicator)s: enter the line's new data, not "
                                             "a score; the score follows from the data.")
                              % {"indicator": appeal.line.indicator.name})
    if result.status != SpecialStatus.NORMAL:
        raise AppealRefused(_("%(subject)s is %(status)s: the grade does not come from the score sheet, so a line "
                              "cannot change it.") % {"subject": result.sheet.subject_label,
                                                      "status": SpecialStatus(result.status).label})
    outcome = apply_line_change(line=appeal.line, change=line_change or LineChange(), acting_user=acting_user,
                                reason=reason)
    offset = ZERO
    if result.calibrated_score is not None and result.raw_score is not None:
        offset = result.calibrated_score - result.raw_score
    # A result combined with its child periods at close (services.rollup) combines its new sheet score too.
    combined, result.rollup = rollup.with_own_score(result.rollup, outcome.sheet_score[1])
    score = quantize(combined + offset)
    record = outcome.record(appeal.line)
    record["final_score"] = [score_text(result.final_score), score_text(score)]
    return score, record


def _rescore_result(result: Result, period: Period, appeal: Appeal, *, acting_user: User | None) -> None:
    """The result takes the upheld appeal's score; its population is regraded (one score can move a
    quota line) and payroll hears which results changed once the decision commits."""
    result.appeal_score = appeal.new_score
    result._history_user = acting_user  # type: ignore[attr-defined]
    result._change_reason = (  # type: ignore[attr-defined]
        _("appeal upheld: %(reason)s") % {"reason": appeal.decision_reason})
    result.save(update_fields=["appeal_score", "rollup"])
    changed = regrade(period=period, population=result.population, acting_user=acting_user,
                      reason=_("regraded after an upheld appeal"))
    ids = sorted({result.pk, *(r.pk for r in changed)})
    transaction.on_commit(lambda: results_changed.send(sender=Period, period=period, reason="appeal",
                                                       result_ids=ids))


def acknowledge(*, result: Result, acting_user: User | None, person: Person,
                now: dt.datetime | None = None) -> Result:
    """The employee confirms they have seen their result. Idempotent: a second click changes nothing."""
    if result.person_id != person.pk:
        raise AppealRefused(_("Only the person a result concerns may acknowledge it."))
    period = Period.objects.get(pk=result.period_id)
    if period.state not in (Period.State.PUBLISHED, Period.State.FINAL):
        raise IllegalTransition(_("Period %(period)s is %(state)s: its results are not published.")
                                % {"period": period.code, "state": period.get_state_display()})
    if result.acknowledged_at is not None:
        return result
    result.acknowledged_at = now or timezone.now()
    if result.confirmed_at is None:
        result.confirmed_at = result.acknowledged_at
    result._history_user = acting_user  # type: ignore[attr-defined]
    result._change_reason = "acknowledged"  # type: ignore[attr-defined]
    result.save(update_fields=["acknowledged_at", "confirmed_at"])
    return result
