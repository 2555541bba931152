"""The period page's cockpit: from the period's state, the next steps HR may take, each legal or
blocked with what blocks it named (and where to deal with it). A read: it decides nothing the
services do not decide again when the step is posted; it says beforehand what they would say.

Each step has a confirmation page (appraisal.period_views.period_confirm) whose form posts to the
step's own endpoint; a step that needs a reason (close anyway, send back to calibration) asks for
it there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from appraisal import selectors
from appraisal.models import Appeal, Period, Result, Sheet
from appraisal.selectors import Completeness
from appraisal.services import closing, extension, window
from organizations.jobs import ACTIVE
from organizations.models import Job

# The life of a period, as the cockpit shows it (the states HR walks through, in order).
LIFE: tuple[str, ...] = (Period.State.DRAFT, Period.State.OPEN, Period.State.SELF_ASSESSMENT, Period.State.SCORING,
        Period.State.CALIBRATION, Period.State.CLOSED, Period.State.PUBLISHED, Period.State.FINAL)

LABELS = {
    "open": gettext_lazy("Start the appraisal"),
    "self_assessment": gettext_lazy("Start self-assessment"),
    "scoring": gettext_lazy("Start scoring"),
    "calibration": gettext_lazy("Start calibration"),
    "back_to_scoring": gettext_lazy("Back to scoring"),
    "close": gettext_lazy("Summarise and grade"),
    "close_anyway": gettext_lazy("Summarise and grade anyway"),
    "publish": gettext_lazy("Publish the results"),
    "reopen": gettext_lazy("Back to calibration"),
    "finalise": gettext_lazy("Confirm and archive"),
}
WHAT = {
    "open": gettext_lazy("Every sheet, line and rater of the period's templates is generated in the background; "
                         "data entry and ratings can start."),
    "self_assessment": gettext_lazy("Employees assess themselves; heads may already enter data."),
    "scoring": gettext_lazy("Heads enter data and raters rate."),
    "calibration": gettext_lazy("Scoring ends for the heads; HR checks the sheets before the close. Figures can "
                                "still be entered."),
    "back_to_scoring": gettext_lazy("The period goes back to the heads for missing scores."),
    "close": gettext_lazy("Every sheet is rescored, each population graded against the quotas, and the results "
                          "written; the pay is computed from them. A progress bar shows the close."),
    "close_anyway": gettext_lazy("The incomplete sheets are closed as they are: every missing rating counts 0 and "
                                 "a line without data scores 0 points; their results are flagged. Your reason is "
                                 "kept on the period and in the audit trail."),
    "publish": gettext_lazy("The results become visible to the people they concern and the review window opens."),
    "reopen": gettext_lazy("The results are retired (kept in the audit trail, no longer current) and the period "
                           "goes back to calibration; the pay computed from them is superseded. The next close "
                           "writes new results."),
    "finalise": gettext_lazy("Results nobody appealed are confirmed and the period is archived."),
}
# Where each step posts, and what it posts besides the reason.
POSTS: dict[str, tuple[str, dict[str, str]]] = {
    "open": ("period-open", {}),
    "self_assessment": ("period-transition", {"to": Period.State.SELF_ASSESSMENT}),
    "scoring": ("period-transition", {"to": Period.State.SCORING}),
    "calibration": ("period-transition", {"to": Period.State.CALIBRATION}),
    "back_to_scoring": ("period-transition", {"to": Period.State.SCORING}),
    "close": ("period-close", {}),
    "close_anyway": ("period-close", {"anyway": "1"}),
    "publish": ("period-publish", {}),
    "reopen": ("period-reopen", {}),
    "finalise": ("period-finalise", {}),
}
NEEDS_REASON = frozenset({"close_anyway", "reopen"})
DANGER = frozenset({"close_anyway", "reopen", "back_to_scoring"})
# Ids the pages and tests know the buttons by.
BUTTON_IDS = {"close": "period-close-button", "publish": "period-publish", "open": "period-open"}
FROM_STATE: dict[str, tuple[str, ...]] = {
    Period.State.DRAFT: ("open",),
    Period.State.OPEN: ("self_assessment", "scoring"),
    Period.State.SELF_ASSESSMENT: ("scoring",),
    Period.State.SCORING: ("calibration",),
    Period.State.CALIBRATION: ("close", "close_anyway", "back_to_scoring"),
    Period.State.CLOSED: ("publish", "reopen"),
    Period.State.PUBLISHED: ("finalise",),
    Period.State.FINAL: (),
}


@dataclass(frozen=True)
class Blocker:
    text: str
    url: str = ""


@dataclass
class Step:
    code: str
    legal: bool
    blockers: list[Blocker] = field(default_factory=list)
    notes: list[Blocker] = field(default_factory=list)  # worth knowing, not blocking

    @property
    def label(self) -> str:
        return str(LABELS[self.code])

    @property
    def what(self) -> str:
        return str(WHAT[self.code])

    @property
    def needs_reason(self) -> bool:
        return self.code in NEEDS_REASON

    @property
    def danger(self) -> bool:
        return self.code in DANGER

    @property
    def button_id(self) -> str:
        return BUTTON_IDS.get(self.code, f"period-step-{self.code}")

    def action(self, period: Period) -> str:
        return reverse(POSTS[self.code][0], args=[period.pk])

    @property
    def posted(self) -> dict[str, str]:
        return dict(POSTS[self.code][1])


@dataclass
class Cockpit:
    """What the period page shows HR: the state in the period's life, how far the sheets are, the
    close job, and the steps."""

    period: Period
    completeness: Completeness
    steps: list[Step]
    close_job: Job | None
    life: list[tuple[str, str, bool, bool]]  # (state, label, done, current)

    def step(self, code: str) -> Step | None:
        return next((s for s in self.steps if s.code == code), None)


def sheets_url(period: Period, kind: str = "") -> str:
    query: dict[str, str | int] = {"period": period.pk}
    if kind:
        query["completeness"] = kind
    return reverse("sheets") + "?" + urlencode(query)


def incomplete_blockers(period: Period, done: Completeness) -> list[Blocker]:
    """What keeps the period from being closed as it is: the incomplete sheets, by kind."""
    blockers = []
    if done.unrated:
        blockers.append(Blocker(ngettext("%(count)s sheet has a rater who has not rated yet",
                                         "%(count)s sheets have a rater who has not rated yet", done.unrated)
                                % {"count": done.unrated}, sheets_url(period, selectors.UNRATED)))
    if done.no_data:
        blockers.append(Blocker(ngettext("%(count)s sheet has a line without data",
                                         "%(count)s sheets have a line without data", done.no_data)
                                % {"count": done.no_data}, sheets_url(period, selectors.NO_DATA)))
    return blockers


def _close_steps(period: Period, done: Completeness, job: Job | None) -> list[Step]:
    close = Step("close", legal=True)
    anyway = Step("close_anyway", legal=False)
    if period.grading_policy_id is None:
        close.blockers.append(Blocker(_("The period has no grading policy: choose one below."),
                                      "#period-grading-policy"))
    if job is not None and job.state in ACTIVE:
        close.blockers.append(Blocker(_("The close is running: see its progress.")))
    close.blockers += incomplete_blockers(period, done)
    close.legal = not close.blockers
    if done.incomplete and period.grading_policy_id is not None and not (job and job.state in ACTIVE):
        anyway.legal = True
        anyway.notes.append(Blocker(_("Or set a special status (exempt, long leave, refused) on them."),
                                    sheets_url(period, selectors.INCOMPLETE)))
    steps = [close]
    if done.incomplete:
        steps.append(anyway)
    return steps


def _closed_steps(period: Period) -> list[Step]:
    publish, reopen = Step("publish", legal=True), Step("reopen", legal=True)
    if period.results_at is None:
        publish.blockers.append(Blocker(_("The period is still closing.")))
        reopen.blockers.append(Blocker(_("The period is still closing.")))
    waiting = Result.objects.filter(period=period, needs_calibration=True).count()
    if waiting:
        publish.blockers.append(Blocker(ngettext("%(count)s result waits for calibration (a tie at a quota line or "
                                                 "a cap exceeded)",
                                                 "%(count)s results wait for calibration (ties at a quota line or "
                                                 "caps exceeded)", waiting) % {"count": waiting}, "#period-results"))
    publish.legal, reopen.legal = not publish.blockers, not reopen.blockers
    return [publish, reopen]


def _finalise_step(period: Period, now: dt.datetime) -> Step:
    step = Step("finalise", legal=True)
    if period.window_ends_at is not None and now < period.window_ends_at:
        step.blockers.append(Blocker(_("The review window ends at %(end)s (Beijing time).")
                                     % {"end": window.show_time(period.window_ends_at)}))
    step.notes += _untold_notes(period, now, step)
    appeals = Appeal.objects.filter(result__period=period, state__in=[Appeal.State.FILED,
                                                                      Appeal.State.FORWARDED]).count()
    if appeals:
        step.blockers.append(Blocker(ngettext("%(count)s appeal is still open", "%(count)s appeals are still open",
                                              appeals) % {"count": appeals}, reverse("appeals")))
    step.legal = not step.blockers
    return step


def _untold_notes(period: Period, now: dt.datetime, step: Step) -> list[Blocker]:
    """The people whose publication notice did not reach them, linked to the notice record; with the
    policy's extension, a blocker while their extended window is open."""
    count = extension.untold_count(period)
    if not count:
        return []
    record = reverse("notification-record", args=[period.pk])
    ext_people, end = extension.extended(period)
    if end is not None and now < end and (period.window_ends_at is None or now >= period.window_ends_at):
        step.blockers.append(Blocker(_("The review window of %(names)s is extended until %(end)s (Beijing time): "
                                       "their publication notice did not reach them.")
                                     % {"names": extension.first_names(ext_people),
                                        "end": window.show_time(end)}, record))
    return [Blocker(ngettext("The publication notice did not reach %(count)s person: %(names)s",
                             "The publication notice did not reach %(count)s people: %(names)s", count)
                    % {"count": count, "names": extension.first_names(extension.untold(period), count=count)}, record)]


def steps_of(period: Period, done: Completeness, job: Job | None, *, now: dt.datetime | None = None) -> list[Step]:
    """The steps the state machine allows from the period's state, each legal or blocked."""
    state = period.state
    if state == Period.State.CALIBRATION:
        return [*_close_steps(period, done, job), Step("back_to_scoring", legal=True)]
    if state == Period.State.CLOSED:
        return _closed_steps(period)
    if state == Period.State.PUBLISHED:
        return [_finalise_step(period, now or timezone.now())]
    steps = [Step(code, legal=True) for code in FROM_STATE.get(state, ())]
    if state == Period.State.DRAFT and not period.templates.exists():
        steps[0].blockers.append(Blocker(_("The period has no template.")))
        steps[0].legal = False
    if state == Period.State.SCORING:
        steps[0].notes += incomplete_blockers(period, done)
    return steps


def cockpit(period: Period, sheets: QuerySet[Sheet], *, everyone: bool = False) -> Cockpit:
    """The cockpit of ``period`` over ``sheets`` (those the user sees; ``everyone`` when they are
    all of the period's): a fixed number of queries."""
    done = selectors.period_completeness(period, sheets, everyone=everyone)
    job = closing.close_job(period) if period.state in (Period.State.CALIBRATION, Period.State.CLOSED) else None
    if job is not None and period.state == Period.State.CALIBRATION and job.state == Job.State.DONE:
        job = None  # the close of before the period went back to calibration
    index = LIFE.index(period.state) if period.state in LIFE else 0
    # Self-assessment is a step a period may skip: shown only while the period is in it.
    life = [(state, str(Period.State(state).label), i < index, i == index) for i, state in enumerate(LIFE)
            if state != Period.State.SELF_ASSESSMENT or period.state == state]
    return Cockpit(period=period, completeness=done, steps=steps_of(period, done, job), close_job=job, life=life)


def step_for(period: Period, code: str, sheets: QuerySet[Sheet]) -> Step | None:
    """One step of the cockpit, or None when the period's state does not lead there."""
    return cockpit(period, sheets).step(code)
