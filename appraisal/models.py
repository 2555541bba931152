"""Periods, score sheets, their lines, raters and ratings, and recorded deductions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from appraisal.choices import SpecialStatus
from appraisal.close_models import StagedResult  # noqa: F401  (its own module)
from appraisal.grading import GradeScale
from appraisal.policy_checks import policy_problems
from appraisal.rollup_models import PeriodRollup, RollupShare
from indicators.models import Indicator, LineSource, RaterRole, SubjectKind, Template, TemplateLine
from organizations.tenancy import TenantHistory, TenantOwned

RAW_PLACES = 8  # decimal places of SheetLine.raw_score, a line's score before rounding to 0.01


class Period(TenantOwned):
    class Kind(models.TextChoices):
        MONTHLY = "monthly", _("monthly")
        QUARTERLY = "quarterly", _("quarterly")
        HALF_YEARLY = "half_yearly", _("half-yearly")
        ANNUAL = "annual", _("annual")

    class State(models.TextChoices):
        DRAFT = "draft", _("draft")
        OPEN = "open", _("open")
        SELF_ASSESSMENT = "self_assessment", _("self-assessment")
        SCORING = "scoring", _("scoring")
        CALIBRATION = "calibration", _("calibration")
        CLOSED = "closed", _("closed")
        PUBLISHED = "published", _("published")
        FINAL = "final", _("final")

    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    number = models.PositiveSmallIntegerField(_("number in year"))  # month 1–12, quarter 1–4, half 1–2, 1
    start_day = models.PositiveSmallIntegerField(_("start day"), default=1)
    start_month = models.PositiveSmallIntegerField(_("start month"), default=1)
    start = models.DateField(_("start"))
    end = models.DateField(_("end"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.DRAFT)
    self_due = models.DateTimeField(_("self-assessment due"), null=True, blank=True)
    scoring_due = models.DateTimeField(_("scoring due"), null=True, blank=True)
    review_due = models.DateTimeField(_("review due"), null=True, blank=True)
    publish_due = models.DateTimeField(_("publication due"), null=True, blank=True)
    templates = models.ManyToManyField(Template, through="PeriodTemplate", related_name="+")
    sheets_generated_at = models.DateTimeField(_("sheets generated at"), null=True, blank=True)
    grading_policy = models.ForeignKey("GradingPolicy", verbose_name=_("grading policy"), null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="periods")
    # Set in the same transaction that writes the results and moves the period to "closed".
    results_at = models.DateTimeField(_("results computed at"), null=True, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    window_ends_at = models.DateTimeField(_("review window ends at"), null=True, blank=True)
    finalised_at = models.DateTimeField(_("finalised at"), null=True, blank=True)
    # HR closed with incomplete sheets ("close anyway"): why, and how many sheets were incomplete.
    # Kept on the period and in its audit trail; cleared when the period goes back to calibration.
    close_anyway_reason = models.CharField(_("reason for closing with incomplete sheets"), max_length=300,
                                           blank=True)
    incomplete_at_close = models.PositiveIntegerField(_("sheets incomplete at close"), default=0)
    # The last time HR sent the closed period back to calibration (退回校准), and why.
    reopened_at = models.DateTimeField(_("sent back to calibration at"), null=True, blank=True)
    reopen_reason = models.CharField(_("reason for sending back to calibration"), max_length=300, blank=True)
    # Set while a close grades (appraisal.services.close_chunks): figures are refused from then on,
    # so the parts graded on several workers all read the same data. Cleared when it ends.
    closing_since = models.DateTimeField(_("closing since"), null=True, blank=True)

    history = TenantHistory()

    class Meta:
        verbose_name = _("period")
        verbose_name_plural = _("periods")
        ordering = ["-start", "code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="uniq_period_code"),
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="period_end_after_start"),
            models.CheckConstraint(condition=Q(start_day__gte=1) & Q(start_day__lte=28), name="period_start_day_1_28"),
            models.CheckConstraint(condition=Q(start_month__gte=1) & Q(start_month__lte=12),
                                   name="period_start_month_1_12"),
        ]

    def __str__(self) -> str:
        return self.name

    def window_open(self, now: dt.datetime) -> bool:
        return (self.state == Period.State.PUBLISHED and self.window_ends_at is not None
                and now < self.window_ends_at)

    def accepts_entries(self) -> bool:
        """Actuals, ratings and records change only while the period runs: not in a draft, and not
        once closed (after that only calibration or an upheld appeal may change a score), nor while
        a close grades."""
        return self.state in ENTRY_STATES and self.closing_since is None


# The period's life, in order. A transition not listed is refused, naming the current state.
TRANSITIONS: dict[str, frozenset[str]] = {
    Period.State.DRAFT: frozenset({Period.State.OPEN}),
    Period.State.OPEN: frozenset({Period.State.SELF_ASSESSMENT, Period.State.SCORING}),
    Period.State.SELF_ASSESSMENT: frozenset({Period.State.SCORING}),
    Period.State.SCORING: frozenset({Period.State.CALIBRATION}),
    # HR may send a period back to the heads from calibration when scores are missing.
    Period.State.CALIBRATION: frozenset({Period.State.SCORING, Period.State.CLOSED}),
    # Before publication HR may send a closed period back to calibration (退回校准): its own service,
    # appraisal.services.closing.reopen_period, which retires the results and tells payroll.
    Period.State.CLOSED: frozenset({Period.State.PUBLISHED, Period.State.CALIBRATION}),
    Period.State.PUBLISHED: frozenset({Period.State.FINAL}),
    Period.State.FINAL: frozenset(),
}
ENTRY_STATES = frozenset({Period.State.OPEN, Period.State.SELF_ASSESSMENT, Period.State.SCORING,
                          Period.State.CALIBRATION})


class PeriodTemplate(TenantOwned):
    period = models.ForeignKey(Period, on_delete=models.CASCADE, related_name="period_templates")
    template = models.ForeignKey(Template, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "period", "template"], name="uniq_period_template"),
        ]


class Sheet(TenantOwned):
    """One subject's score sheet for a period: a person, a team/shift, or a department."""

    period = models.ForeignKey(Period, verbose_name=_("period"), on_delete=models.CASCADE, related_name="sheets")
    template = models.ForeignKey(Template, verbose_name=_("template"), on_delete=models.PROTECT, related_name="+")
    subject_kind = models.CharField(_("subject"), max_length=12, choices=SubjectKind.choices)
    person = models.ForeignKey("organizations.Person", verbose_name=_("person"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="sheets")
    team = models.ForeignKey("organizations.Team", verbose_name=_("team or shift"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="sheets")
    department = models.ForeignKey("organizations.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="sheets")
    score = models.DecimalField(_("score"), max_digits=9, decimal_places=2, null=True, blank=True)
    explanation = models.TextField(_("explanation"), blank=True)
    special_status = models.CharField(_("special status"), max_length=12, choices=SpecialStatus.choices,
                                      default=SpecialStatus.NORMAL)
    special_reason = models.CharField(_("reason for the special status"), max_length=200, blank=True)
    # Bookkeeping for rescoring, kept by the database: triggers (migration 0006) add 1 to
    # data_version whenever anything the score depends on is written (the lines' data, recorded
    # deductions, raters, ratings, the template's parts and base score), whatever the write path;
    # rescoring sets scored_version to the data_version it read. A sheet is stale while they
    # differ, and a period's rescoring (the close) rescores only those.
    data_version = models.PositiveIntegerField(default=1, editable=False)
    scored_version = models.PositiveIntegerField(default=0, editable=False)

    history = TenantHistory(excluded_fields=["data_version", "scored_version"])

    class Meta:
        verbose_name = _("score sheet")
        verbose_name_plural = _("score sheets")
        constraints = [
            # One sheet per subject and period: what makes generating sheets idempotent.
            models.UniqueConstraint(fields=["organization", "period", "person"], condition=Q(person__isnull=False),
                                    name="uniq_sheet_person"),
            models.UniqueConstraint(fields=["organization", "period", "team"], condition=Q(team__isnull=False),
                                    name="uniq_sheet_team"),
            models.UniqueConstraint(fields=["organization", "period", "department"],
                                    condition=Q(department__isnull=False), name="uniq_sheet_department"),
            models.CheckConstraint(
                condition=(
                    Q(subject_kind=SubjectKind.PERSON, person__isnull=False, team__isnull=True,
                      department__isnull=True)
                    | Q(subject_kind=SubjectKind.TEAM, person__isnull=True, team__isnull=False,
                        department__isnull=True)
                    | Q(subject_kind=SubjectKind.DEPARTMENT, person__isnull=True, team__isnull=True,
                        department__isnull=False)
                ),
                name="sheet_exactly_one_subject",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "period"], name="sheet_org_period"),
            # The API lists sheets in this order (selectors.sheets_with_lines) and pages them by id
            # first: an index-only scan cuts a page without sorting the period's sheets.
            models.Index(fields=["organization", "period", "subject_kind", "id"], name="sheet_org_period_kind_id"),
        ]

    def __str__(self) -> str:
        return f"{self.period_id}: {self.subject_label}"

    @property
    def subject_label(self) -> str:
        subject = self.person or self.team or self.department
        return str(subject)

    @property
    def is_stale(self) -> bool:
        """Whether the score may be out of date with the data (as of when this row was read)."""
        return self.scored_version != self.data_version


# Sheets whose data changed since they were last scored.
STALE = Q(scored_version__lt=models.F("data_version"))


class SheetLine(TenantOwned):
    """A line of a sheet: a snapshot of the template line (method, configuration, full marks), the
    data that scores it, and the score with its explanation. ``version`` detects concurrent edits.
    No template line: a work item added to this sheet alone (entry.add_sheet_line), named ``label``.
    ``raw_score``: the score before rounding, summed when Template.rounding is "part" or "final"."""

    sheet = models.ForeignKey(Sheet, verbose_name=_("sheet"), on_delete=models.CASCADE, related_name="lines")
    template_line = models.ForeignKey(TemplateLine, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    indicator = models.ForeignKey(Indicator, verbose_name=_("indicator"), on_delete=models.PROTECT, related_name="+")
    label = models.CharField(_("work item"), max_length=200, blank=True)
    part_code = models.CharField(_("part"), max_length=30)
    source = models.CharField(_("scored from"), max_length=10, choices=LineSource.choices)
    method = models.CharField(_("scoring method"), max_length=20)
    config = models.JSONField(_("scoring configuration"), default=dict)
    direction = models.CharField(_("direction"), max_length=10)
    baseline_source = models.CharField(_("baseline source"), max_length=25, blank=True)
    max_points = models.DecimalField(_("full marks"), max_digits=9, decimal_places=2)
    target = models.DecimalField(_("target"), max_digits=18, decimal_places=4, null=True, blank=True)
    actual = models.DecimalField(_("actual"), max_digits=18, decimal_places=4, null=True, blank=True)
    inputs = models.JSONField(_("inputs"), default=dict, blank=True)
    rating = models.CharField(_("rating"), max_length=50, blank=True)
    accepted = models.BooleanField(_("accepted"), null=True, blank=True)
    acceptance_round = models.PositiveSmallIntegerField(_("acceptance round"), null=True, blank=True)
    score = models.DecimalField(_("score"), max_digits=9, decimal_places=2, null=True, blank=True)
    raw_score = models.DecimalField(_("unrounded score"), max_digits=20, decimal_places=RAW_PLACES, null=True,
                                    blank=True)
    money = models.DecimalField(_("money effect"), max_digits=12, decimal_places=2, default=Decimal("0.00"))
    explanation = models.TextField(_("explanation"), blank=True)
    version = models.PositiveIntegerField(default=1)
    sort_order = models.PositiveIntegerField(default=0)

    history = TenantHistory()

    class Meta:
        verbose_name = _("sheet line")
        verbose_name_plural = _("sheet lines")
        ordering = ["sort_order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "sheet", "template_line"], name="uniq_sheet_line"),
            # An added line is one work item: the same indicator twice needs two labels.
            models.UniqueConstraint(fields=["organization", "sheet", "part_code", "indicator", "label"],
                                    condition=Q(template_line__isnull=True), name="uniq_sheet_added_line"),
        ]

    def __str__(self) -> str:
        return f"{self.sheet_id}/{self.indicator_id}"

    @property
    def is_added(self) -> bool:  # added to this sheet alone (a work item), not from the template
        return self.template_line_id is None


class AcceptanceRound(TenantOwned):
    """One acceptance inspection (验收) of a pass/fail line (S0-1): failed items are remediated and
    inspected again until they pass; the latest round scores the line (services.entry)."""

    line = models.ForeignKey(SheetLine, verbose_name=_("line"), on_delete=models.CASCADE,
                             related_name="acceptance_rounds")
    number = models.PositiveSmallIntegerField(_("round"))
    passed = models.BooleanField(_("passed"))
    reason = models.TextField(_("reason"), blank=True)
    inspected_by = models.ForeignKey("organizations.Person", verbose_name=_("inspected by"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    inspected_on = models.DateField(_("inspected on"))
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    history = TenantHistory()

    class Meta:
        verbose_name = _("acceptance round")
        verbose_name_plural = _("acceptance rounds")
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "line", "number"], name="uniq_acceptance_round"),
            models.CheckConstraint(condition=Q(number__gte=1), name="acceptance_round_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.line_id} #{self.number}"


class Rater(TenantOwned):
    """Someone (or a department's head) who scores a sheet's rated lines, with a weight.

    A role's weight is shared equally among its raters (five peer departments at 0.2 of the role).
    A recused rater stays on record with the reason but does not count.
    """

    sheet = models.ForeignKey(Sheet, verbose_name=_("sheet"), on_delete=models.CASCADE, related_name="raters")
    role = models.CharField(_("role"), max_length=20, choices=RaterRole.choices)
    person = models.ForeignKey("organizations.Person", verbose_name=_("rater"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="ratings_to_give")
    department = models.ForeignKey("organizations.Department", verbose_name=_("rating department"), null=True,
                                   blank=True, on_delete=models.PROTECT, related_name="+")
    weight = models.DecimalField(_("weight"), max_digits=7, decimal_places=6)
    missing_counts_as_zero = models.BooleanField(default=False)
    recused = models.BooleanField(_("recused"), default=False)
    recusal_reason = models.CharField(_("recusal reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("rater")
        verbose_name_plural = _("raters")
        constraints = [
            models.UniqueConstraint(fields=["organization", "sheet", "role", "person"],
                                    condition=Q(person__isnull=False), name="uniq_rater_person"),
            models.UniqueConstraint(fields=["organization", "sheet", "role", "department"],
                                    condition=Q(person__isnull=True), name="uniq_rater_department"),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.person_id or self.department_id}"


class Rating(TenantOwned):
    """One rater's input on one rated line."""

    line = models.ForeignKey(SheetLine, verbose_name=_("line"), on_delete=models.CASCADE, related_name="ratings")
    rater = models.ForeignKey(Rater, verbose_name=_("rater"), on_delete=models.CASCADE, related_name="ratings")
    rating = models.CharField(_("rating"), max_length=50, blank=True)
    actual = models.DecimalField(_("value"), max_digits=18, decimal_places=4, null=True, blank=True)
    score = models.DecimalField(_("score"), max_digits=9, decimal_places=2, null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    history = TenantHistory()

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        constraints = [models.UniqueConstraint(fields=["organization", "line", "rater"], name="uniq_rating")]


class DeductionRecord(TenantOwned):
    """An occurrence recorded against a deduction or bonus item during the period, with its evidence
    and who recorded it (an inspecting department's weekly check, S0-2; S1-7 evidence rule)."""

    line = models.ForeignKey(SheetLine, verbose_name=_("line"), on_delete=models.CASCADE, related_name="records")
    item_code = models.CharField(_("item"), max_length=30)
    count = models.PositiveIntegerField(_("count"), default=1)
    occurred_on = models.DateField(_("date"))
    evidence = models.TextField(_("evidence"), blank=True)
    recorded_by = models.ForeignKey("organizations.Person", verbose_name=_("recorded by"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    recorder_department = models.ForeignKey("organizations.Department", verbose_name=_("recording department"),
                                            null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    history = TenantHistory()

    class Meta:
        verbose_name = _("recorded deduction or bonus")
        verbose_name_plural = _("recorded deductions and bonuses")
        ordering = ["occurred_on", "pk"]
        constraints = [models.CheckConstraint(condition=Q(count__gte=1), name="deduction_record_count_positive")]


class GradingPolicy(TenantOwned):
    """How a period's final scores become grades: the scale (bands → grade → coefficient), the
    forced-distribution quotas and the population they apply to, the calibration cap, what the
    special statuses mean, and the rules over consecutive periods. Versioned: a period keeps the
    version it was closed with; a change is a new version."""

    class Population(models.TextChoices):
        ORGANIZATION = "organization", _("the whole organisation")
        DEPARTMENT = "department", _("each department")
        DEPARTMENT_TYPE = "department_type", _("each department type")

    class Rounding(models.TextChoices):
        HALF_UP = "half_up", _("half up (四舍五入)")
        DOWN = "down", _("down")
        UP = "up", _("up")

    code = models.CharField(_("code"), max_length=30)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    name = models.CharField(_("name"), max_length=100)
    scale = models.JSONField(_("grade scale"))
    quotas = models.JSONField(_("quotas"), default=list, blank=True)
    rounding = models.CharField(_("quota rounding"), max_length=10, choices=Rounding.choices,
                                default=Rounding.HALF_UP)
    population = models.CharField(_("quotas apply to"), max_length=20, choices=Population.choices,
                                  default=Population.ORGANIZATION)
    calibration_share = models.DecimalField(_("calibration cap (share of the score)"), max_digits=5,
                                            decimal_places=4, default=Decimal("0.05"))
    # {"exempt": "B", "long_leave": null}: a set grade, or null for "not assessed". Refused → score 0.
    status_grades = models.JSONField(_("grades for special statuses"), default=dict, blank=True)
    rules = models.JSONField(_("rules over consecutive periods"), default=list, blank=True)
    appeal_group = models.ForeignKey("organizations.ReviewGroup", verbose_name=_("group deciding appeals"),
                                     null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Working days added to the review window of a person whose publication notice failed (0: none).
    untold_extension_days = models.PositiveSmallIntegerField(_("window extension when the notice failed"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = TenantHistory()

    class Meta:
        verbose_name = _("grading policy")
        verbose_name_plural = _("grading policies")
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code", "version"], name="uniq_grading_policy_version"),
            models.CheckConstraint(condition=Q(calibration_share__gte=0) & Q(calibration_share__lte=1),
                                   name="grading_policy_calibration_share_0_1"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def grade_scale(self) -> Any:
        return GradeScale.from_config(self.scale)

    def clean(self) -> None:
        problems = policy_problems(scale=self.scale, quotas=self.quotas, rounding=self.rounding,
                                   status_grades=self.status_grades, rules=self.rules)
        if problems:
            raise ValidationError(problems)


class Result(TenantOwned):
    """A subject's result for a closed period: a snapshot, never recomputed on read.

    ``final_score`` is the score graded: the appeal's score if one was upheld, else the calibrated
    score, else the sheet's score at close (0 when the subject refused). ``grade`` is the grade
    after forced distribution; ``band_grade`` the grade the score alone earns.
    """

    period = models.ForeignKey(Period, verbose_name=_("period"), on_delete=models.CASCADE, related_name="results")
    sheet = models.ForeignKey(Sheet, verbose_name=_("score sheet"), on_delete=models.CASCADE, related_name="results")
    subject_kind = models.CharField(_("subject"), max_length=12, choices=SubjectKind.choices)
    person = models.ForeignKey("organizations.Person", verbose_name=_("person"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="results")
    population = models.CharField(_("population"), max_length=60)
    population_label = models.CharField(_("population"), max_length=200)
    status = models.CharField(_("special status"), max_length=12, choices=SpecialStatus.choices,
                              default=SpecialStatus.NORMAL)
    raw_score = models.DecimalField(_("score at close"), max_digits=9, decimal_places=2, null=True, blank=True)
    calibrated_score = models.DecimalField(_("calibrated score"), max_digits=9, decimal_places=2, null=True,
                                           blank=True)
    calibration_reason = models.CharField(_("calibration reason"), max_length=300, blank=True)
    appeal_score = models.DecimalField(_("score after appeal"), max_digits=9, decimal_places=2, null=True,
                                       blank=True)
    final_score = models.DecimalField(_("final score"), max_digits=9, decimal_places=2, null=True, blank=True)
    rank = models.PositiveIntegerField(_("rank"), null=True, blank=True)
    band_grade = models.CharField(_("grade by score"), max_length=20, blank=True)
    grade = models.CharField(_("grade"), max_length=20, blank=True)  # blank: not assessed
    grade_label = models.CharField(_("grade"), max_length=50, blank=True)
    coefficient = models.DecimalField(_("coefficient"), max_digits=7, decimal_places=4, null=True, blank=True)
    needs_calibration = models.BooleanField(_("needs calibration"), default=False)
    explanation = models.TextField(_("explanation"), blank=True)
    flags = models.JSONField(_("flags"), default=list, blank=True)
    # How the score at close was made when the period rolls up child periods (services.rollup):
    # {"share", "own", "children", "explanation"}; null for an ordinary sheet score.
    rollup = models.JSONField(_("roll-up"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)

    history = TenantHistory()

    class Meta:
        verbose_name = _("result")
        verbose_name_plural = _("results")
        ordering = ["population", "rank", "pk"]
        constraints = [
            # One result per sheet: what keeps a redelivered close to one result.
            models.UniqueConstraint(fields=["organization", "sheet"], name="uniq_result_sheet"),
        ]
        indexes = [
            models.Index(fields=["organization", "period", "population"], name="result_org_period_pop"),
            # The API's order (results_api.ResultViewSet): a page's ids come from this index, unsorted.
            models.Index(fields=["organization", "period", "population", "rank", "id"],
                         name="result_org_period_rank_id"),
        ]

    def __str__(self) -> str:
        return f"{self.sheet_id}: {self.grade or '—'}"

    @property
    def subject_key(self) -> tuple[str, int | None]:
        """Whose result this is, across periods (the sheet's subject; select_related("sheet"))."""
        sheet = self.sheet
        return (self.subject_kind, sheet.person_id or sheet.team_id or sheet.department_id)

    def graded_score(self) -> Decimal | None:
        """The score the grade is computed from (appeal > calibration > close)."""
        if self.appeal_score is not None:
            return self.appeal_score
        if self.calibrated_score is not None:
            return self.calibrated_score
        return self.raw_score


def appeal_upload_to(instance: Appeal, filename: str) -> str:
    return f"appeals/{instance.organization_id}/{filename}"


class Appeal(TenantOwned):
    """An employee's appeal against a line or the grade, filed inside the review window (S1-4).

    It goes to the supervisor for an opinion, then to HR or the supervision group, whose answer
    is final (S1-3). Upheld: the score changes (against a line: the line takes its new data and is
    rescored with its sheet, ``line_change`` keeping old → new) and the population is regraded."""

    class State(models.TextChoices):
        FILED = "filed", _("waiting for the supervisor")
        FORWARDED = "forwarded", _("waiting for the final decision")
        UPHELD = "upheld", _("upheld")
        REJECTED = "rejected", _("rejected")

    result = models.ForeignKey(Result, verbose_name=_("result"), on_delete=models.CASCADE, related_name="appeals")
    line = models.ForeignKey(SheetLine, verbose_name=_("line appealed"), null=True, blank=True,
                             on_delete=models.CASCADE, related_name="appeals")
    filed_by = models.ForeignKey("organizations.Person", verbose_name=_("filed by"), on_delete=models.PROTECT,
                                 related_name="appeals")
    reason = models.TextField(_("reason"))
    attachment = models.FileField(_("attachment"), upload_to=appeal_upload_to, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.FILED)
    filed_at = models.DateTimeField(_("filed at"))
    supervisor_opinion = models.TextField(_("supervisor's opinion"), blank=True)
    forwarded_at = models.DateTimeField(_("forwarded at"), null=True, blank=True)
    forwarded_by = models.ForeignKey("organizations.User", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    decision_reason = models.TextField(_("reason for the decision"), blank=True)
    new_score = models.DecimalField(_("new score"), max_digits=9, decimal_places=2, null=True, blank=True)
    # An upheld appeal against a line: what its decision changed, old → new (appraisal.appeal_lines):
    # the line's data, the line's score, the sheet's score and the final score.
    line_change = models.JSONField(_("change to the line"), default=dict, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey("organizations.User", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    history = TenantHistory()

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        ordering = ["-filed_at", "-pk"]
        constraints = [
            # One open appeal per result at a time: a second click does not file twice.
            models.UniqueConstraint(fields=["organization", "result"], condition=Q(state__in=["filed", "forwarded"]),
                                    name="uniq_open_appeal"),
            models.CheckConstraint(condition=~Q(state="upheld") | Q(new_score__isnull=False),
                                   name="appeal_upheld_has_score"),
        ]

    def __str__(self) -> str:
        return f"{self.result_id} {self.state}"

    @property
    def is_open(self) -> bool:
        return self.state in (self.State.FILED, self.State.FORWARDED)


class OutcomeDecision(TenantOwned):
    """HR's answer to a rule's outcome that changes a person (salary grade up or down, unfit,
    eliminated: appraisal.rules.PERSON_OUTCOMES) once the period is final (appraisal.services.outcomes):
    confirmed, and the change written to the person (``change``: the field, old → new), or declined
    with the reason. One answer per result and rule; who and when are kept, and the history."""

    class State(models.TextChoices):
        CONFIRMED = "confirmed", _("confirmed")
        DECLINED = "declined", _("declined")

    result = models.ForeignKey(Result, verbose_name=_("result"), on_delete=models.CASCADE,
                               related_name="outcome_decisions")
    person = models.ForeignKey("organizations.Person", verbose_name=_("person"), on_delete=models.PROTECT,
                               related_name="outcome_decisions")
    rule = models.CharField(_("rule"), max_length=60)
    outcome = models.CharField(_("outcome"), max_length=30)
    message = models.TextField(_("what the rule found"), blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    change = models.JSONField(_("change to the person"), default=dict, blank=True)
    decided_at = models.DateTimeField(_("decided at"))
    decided_by = models.ForeignKey("organizations.User", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    history = TenantHistory()

    class Meta:
        verbose_name = _("outcome decision")
        verbose_name_plural = _("outcome decisions")
        ordering = ["-decided_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "result", "rule"], name="uniq_outcome_decision"),
        ]

    def __str__(self) -> str:
        return f"{self.result_id} {self.rule} {self.state}"


__all__ = ["AcceptanceRound", "Appeal", "GradingPolicy", "OutcomeDecision", "Period", "PeriodRollup",
           "PeriodTemplate", "Rater", "RaterRole", "Rating", "Result", "RollupShare", "Sheet", "SheetLine",
           "SpecialStatus"]
