"""The indicator catalogue and appraisal templates (考核方案).

An indicator names what is measured and how it is scored: ``method`` is one of the engine's
scoring methods and ``config`` its parameters as data (validated by indicators.scoring when
saved). A template groups indicators into parts with weights for one kind of subject.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from organizations.tenancy import TenantHistory, TenantOwned


class Direction(models.TextChoices):
    HIGHER = "higher", _("higher is better")
    LOWER = "lower", _("lower is better")


class SubjectKind(models.TextChoices):
    PERSON = "person", _("person")
    TEAM = "team", _("team or shift")
    DEPARTMENT = "department", _("department")


class BaselineSource(models.TextChoices):
    """Where a completion line's baseline (基数) comes from when its basis is "baseline"."""

    LAST_PERIOD = "last_period", _("last period's actual")
    SAME_PERIOD_LAST_YEAR = "same_period_last_year", _("same period last year")
    # S1-8: the mean of the ten-day (旬) averages, entered as inputs tenday_1, tenday_2, …
    TEN_DAY_AVERAGE = "ten_day_average", _("average of ten-day averages")
    INPUT = "input", _("entered as the input 'baseline'")


class Indicator(TenantOwned):
    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=200)
    unit = models.CharField(_("unit"), max_length=30, blank=True)
    # A balanced-scorecard dimension, "Class I" / "Class II" or any grouping HR uses.
    dimension = models.CharField(_("dimension or class"), max_length=50, blank=True)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent indicator"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="children",
    )
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices, default=Direction.HIGHER)
    evidence_required = models.BooleanField(_("evidence required"), default=False)
    method = models.CharField(_("scoring method"), max_length=20)
    config = models.JSONField(_("scoring configuration"), default=dict, blank=True)
    baseline_source = models.CharField(_("baseline source"), max_length=25, choices=BaselineSource.choices,
                                       blank=True)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    history = TenantHistory()

    class Meta:
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["organization", "code"], name="uniq_indicator_code")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def clean(self) -> None:
        from indicators import scoring

        if self.method not in scoring.Method.values:
            raise ValidationError({"method": _("Unknown scoring method %(method)s.") % {"method": self.method}})
        try:
            self.config = scoring.validate_config(self.method, self.config)
        except scoring.ConfigError as error:
            raise ValidationError({"config": str(error)}) from None
        if self.config.get("basis") == "baseline" and not self.baseline_source:
            raise ValidationError({"baseline_source": _("Say where the baseline comes from.")})
        if self.parent_id is not None and self.parent_id == self.pk:
            raise ValidationError({"parent": _("An indicator cannot be its own parent.")})


class Benchmark(TenantOwned):
    """A target or benchmark (标杆值) for an indicator, optionally for one subject and some months.

    The most specific row wins: a subject's own value over its department's over the whole
    organisation's; among equals, the one limited to the period's month over an all-year one (so a
    heating-season benchmark overrides the default from November to March, S0-2).
    """

    class Kind(models.TextChoices):
        TARGET = "target", _("target")
        BENCHMARK = "benchmark", _("benchmark")

    indicator = models.ForeignKey(Indicator, verbose_name=_("indicator"), on_delete=models.CASCADE,
                                  related_name="benchmarks")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.TARGET)
    value = models.DecimalField(_("value"), max_digits=18, decimal_places=4)
    # Month numbers 1–12 this value applies to; empty = every month.
    months = models.JSONField(_("months"), default=list, blank=True)
    department = models.ForeignKey("organizations.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey("organizations.Team", verbose_name=_("team or shift"), null=True, blank=True,
                             on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey("organizations.Person", verbose_name=_("person"), null=True, blank=True,
                               on_delete=models.CASCADE, related_name="+")
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)

    history = TenantHistory()

    class Meta:
        verbose_name = _("target or benchmark")
        verbose_name_plural = _("targets and benchmarks")
        indexes = [models.Index(fields=["organization", "indicator"], name="benchmark_org_indicator")]

    def __str__(self) -> str:
        return f"{self.indicator_id}: {self.value}"

    def clean(self) -> None:
        months = self.months or []
        if not isinstance(months, list) or any(not isinstance(m, int) or not 1 <= m <= 12 for m in months):
            raise ValidationError({"months": _("Months must be a list of numbers from 1 to 12.")})
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": _("The end is before the start.")})


class Rounding(models.TextChoices):
    """Where a template rounds scores to 0.01 (see appraisal.services.scoring.score_sheet)."""

    LINE = "line", _("each line, before the sum")
    PART = "part", _("each part's sum")
    FINAL = "final", _("only the final score")


class UnitSource(models.TextChoices):
    """Whose result a person template's unit share reads (appraisal.services.unit_share)."""

    DEPARTMENT = "department", _("the person's department")
    TEAM = "team", _("the person's team or shift")


class Template(TenantOwned):
    """An appraisal template (考核方案) for one kind of subject, in versions.

    A period uses one version; changing a template that a period already used means a new version,
    so a closed period can always be recomputed exactly as it was.
    """

    code = models.CharField(_("code"), max_length=30)
    version = models.PositiveIntegerField(_("version"), default=1)
    name = models.CharField(_("name"), max_length=200)
    subject_kind = models.CharField(_("subject"), max_length=12, choices=SubjectKind.choices,
                                    default=SubjectKind.PERSON)
    # Who the template applies to: a department type and/or a position; blank = everyone of the kind.
    department_type = models.ForeignKey("organizations.DepartmentType", verbose_name=_("department type"),
                                        null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    position = models.CharField(_("position"), max_length=100, blank=True)
    # For team templates: only shifts (运行值), only teams, or both when blank.
    team_kind = models.CharField(_("team kind"), max_length=10, blank=True,
                                 choices=[("team", _("team")), ("shift", _("shift"))])
    # Full marks of the sheet: 100, or 110 for S0-2's generation-operations department.
    base_score = models.DecimalField(_("base score"), max_digits=7, decimal_places=2, default=Decimal("100.00"))
    # Where scores are rounded to 0.01 (appraisal.services.scoring.score_sheet): each line before the
    # sum (the default), each part's sum, or only the final score (S0-2: a shift's score is the
    # weighted sum of unrounded completion rates).
    rounding = models.CharField(_("rounding"), max_length=8, choices=Rounding.choices, default=Rounding.LINE)
    # A person's score at close combines their unit's result of the same period (S1-4's deputies: 60 %
    # the unit's result + 40 % their own sheet): (1 − unit_share) × own + unit_share × the unit's score
    # (appraisal.services.unit_share). 0: the person's sheet alone.
    unit_share = models.DecimalField(_("share of the unit's result"), max_digits=5, decimal_places=4,
                                     default=Decimal("0"))
    unit = models.CharField(_("unit whose result counts"), max_length=12, choices=UnitSource.choices, blank=True)
    # Assignment rules (appraisal.services.assignment): who the template is for, as a list of rules
    # {"people": [employee numbers], "department": code, "sub_departments": true, "department_type":
    # code, "position": text, "team_kind": "team" | "shift"}; each rule a conjunction, the most
    # specific matching rule of a period's templates wins. Empty: the department type, position and
    # team kind above make the one rule, and with none of them the template is the fallback.
    applies_to = models.JSONField(_("applies to"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    history = TenantHistory()

    class Meta:
        verbose_name = _("appraisal template")
        verbose_name_plural = _("appraisal templates")
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code", "version"], name="uniq_template_version"),
            models.CheckConstraint(condition=Q(base_score__gt=0), name="template_base_score_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class TemplatePart(TenantOwned):
    """A part of a template (e.g. indicator / functional / process, or business / security …).

    ``weight`` is the part's share of the sheet (0.7, or 40 of 100 written as 0.40); its lines'
    full marks add up to ``full_marks``. With ``cap_positive`` the part can earn at most its full
    marks while deductions below zero still count (S1-8 security eats into the other parts).
    """

    template = models.ForeignKey(Template, verbose_name=_("template"), on_delete=models.CASCADE, related_name="parts")
    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    weight = models.DecimalField(_("weight"), max_digits=7, decimal_places=4)
    full_marks = models.DecimalField(_("full marks"), max_digits=9, decimal_places=2, default=Decimal("100.00"))
    cap_positive = models.BooleanField(_("cap at full marks"), default=False)
    # Individual work items (S0-1): each sheet gets its own lines in this part
    # (appraisal.services.entry.add_sheet_line); the part's points are scaled to its full marks by
    # the sheet's lines' full marks (points × full marks ÷ Σ line full marks).
    per_person = models.BooleanField(_("lines added per sheet"), default=False)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("template part")
        verbose_name_plural = _("template parts")
        ordering = ["sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "template", "code"], name="uniq_template_part_code"),
        ]

    def __str__(self) -> str:
        return self.name


class LineSource(models.TextChoices):
    DATA = "data", _("data (actuals, records)")
    RATERS = "raters", _("raters")


class TemplateLine(TenantOwned):
    part = models.ForeignKey(TemplatePart, verbose_name=_("part"), on_delete=models.CASCADE, related_name="lines")
    indicator = models.ForeignKey(Indicator, verbose_name=_("indicator"), on_delete=models.PROTECT, related_name="+")
    max_points = models.DecimalField(_("full marks"), max_digits=9, decimal_places=2)
    source = models.CharField(_("scored from"), max_length=10, choices=LineSource.choices, default=LineSource.DATA)
    # Replaces the indicator's configuration for this template only (e.g. other deduction amounts).
    config_override = models.JSONField(_("configuration override"), default=dict, blank=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("template line")
        verbose_name_plural = _("template lines")
        ordering = ["sort_order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "part", "indicator"], name="uniq_template_line"),
            models.CheckConstraint(condition=Q(max_points__gte=0), name="template_line_points_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.part_id}/{self.indicator_id}"

    def effective_config(self) -> dict[str, Any]:
        return dict(self.config_override or self.indicator.config)


class RaterRole(models.TextChoices):
    SELF = "self", _("self")
    SUPERVISOR = "supervisor", _("direct supervisor")
    SECOND_LINE = "second_line", _("second line")
    PEER_DEPARTMENTS = "peer_departments", _("peer departments")
    GROUP = "group", _("review group")


class TemplateRater(TenantOwned):
    """Who scores rated lines of a template, with what weight (S1-9 self 20% + supervisor 80%;
    S1-4 HQ 70% / local 30%; S0-2 peer departments). Weights of a template's raters sum to 1."""

    template = models.ForeignKey(Template, verbose_name=_("template"), on_delete=models.CASCADE, related_name="raters")
    role = models.CharField(_("role"), max_length=20, choices=RaterRole.choices)
    weight = models.DecimalField(_("weight"), max_digits=5, decimal_places=4)
    group = models.ForeignKey("organizations.ReviewGroup", verbose_name=_("group"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    # The department whose head is the second-line rater (e.g. headquarters' HR, S1-4).
    department = models.ForeignKey("organizations.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    # S1-9: a missing self-assessment counts as 0 instead of being left out of the weighting.
    missing_counts_as_zero = models.BooleanField(_("missing counts as zero"), default=False)

    class Meta:
        verbose_name = _("template rater")
        verbose_name_plural = _("template raters")
        constraints = [
            models.UniqueConstraint(fields=["organization", "template", "role"], name="uniq_template_rater_role"),
            models.CheckConstraint(condition=Q(weight__gt=0) & Q(weight__lte=1), name="template_rater_weight_range"),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.weight}"
