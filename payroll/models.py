"""Pay policies (versioned, effective-dated data), per-period pay inputs, and pay runs.

A pay run is a version: computed from a closed period's results, never edited. A recomputation
that changes anything (an upheld appeal, a late input) writes the next version; the difference
between two versions is the delta sheet finance pays. That is also the audit of every pay line:
each version records who computed it, when and why, and the old and new amounts are the two
versions' slips.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from appraisal.models import Period
from organizations.chunks import Staged, scratch_key
from organizations.tenancy import TenantHistory, TenantOwned


class PayPolicy(TenantOwned):
    """An ordered list of pay components (payroll.engine), for the people of one department type
    (or everyone), effective from a date. A change is a new version; a closed period keeps the
    version its runs were computed with.

    ``period_kind`` limits a policy to the periods of one kind (S1-4 pays quarterly and annual
    bonuses to the same people by two policies); blank: periods of any kind. For one department
    type a policy of the period's kind wins over one of any kind. ``requires_grade`` False pays
    everyone with a result, graded or not (piece rates, S1-2, S1-6); True leaves an ungraded
    person out of the run, named in its notes."""

    code = models.CharField(_("code"), max_length=30)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    name = models.CharField(_("name"), max_length=100)
    department_type = models.ForeignKey("organizations.DepartmentType", verbose_name=_("department type"),
                                        null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective to"), null=True, blank=True)
    period_kind = models.CharField(_("period kind"), max_length=12, choices=Period.Kind.choices, blank=True, default="")
    requires_grade = models.BooleanField(_("requires a grade"), default=True)
    components = models.JSONField(_("components"))
    inputs = models.JSONField(_("number inputs"), default=list, blank=True)
    text_inputs = models.JSONField(_("text inputs"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = TenantHistory()

    class Meta:
        verbose_name = _("pay policy")
        verbose_name_plural = _("pay policies")
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code", "version"], name="uniq_pay_policy_version"),
            models.CheckConstraint(condition=Q(effective_to__isnull=True) | Q(effective_to__gte=models.F(
                "effective_from")), name="pay_policy_effective_range"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def compiled(self, names: Any = None) -> Any:
        """The compiled policy; ``names``: the organisation's standard names
        (payroll.standard.organisation_names(), looked up when not given)."""
        from payroll.engine import compile_policy
        from payroll.standard import organisation_names

        names = names or organisation_names(self.organization_id)
        return compile_policy(self.components, inputs=self.inputs, text_inputs=self.text_inputs,
                              standard=names.with_sums(self.inputs or ()), standard_texts=names.texts)

    def clean(self) -> None:
        from core.configs import ConfigError

        try:
            self.compiled()
        except ConfigError as error:
            raise ValidationError({"components": f"{error.field}: {error.message}"}) from None


class PayInput(TenantOwned):
    """A number a pay component reads for one period: per person (graduates by class, penalty
    points, idle days) or per department (revenue, costs). Entered by upload, page or API."""

    period = models.ForeignKey("appraisal.Period", verbose_name=_("period"), on_delete=models.CASCADE,
                               related_name="pay_inputs")
    person = models.ForeignKey("organizations.Person", verbose_name=_("person"), null=True, blank=True,
                               on_delete=models.CASCADE, related_name="pay_inputs")
    department = models.ForeignKey("organizations.Department", verbose_name=_("department"), null=True,
                                   blank=True, on_delete=models.CASCADE, related_name="pay_inputs")
    name = models.CharField(_("input"), max_length=40)
    value = models.DecimalField(_("value"), max_digits=18, decimal_places=4, null=True, blank=True)
    text = models.CharField(_("text value"), max_length=50, blank=True)

    history = TenantHistory()

    class Meta:
        verbose_name = _("pay input")
        verbose_name_plural = _("pay inputs")
        constraints = [
            models.UniqueConstraint(fields=["organization", "period", "person", "name"],
                                    condition=Q(person__isnull=False), name="uniq_pay_input_person"),
            models.UniqueConstraint(fields=["organization", "period", "department", "name"],
                                    condition=Q(department__isnull=False), name="uniq_pay_input_department"),
            models.CheckConstraint(condition=Q(person__isnull=True) ^ Q(department__isnull=True),
                                   name="pay_input_person_xor_department"),
        ]


class PayRun(TenantOwned):
    """One computation of a period's pay. Versions count up per period; finance confirms one,
    which locks it (a later change makes a new version, paid as a delta)."""

    class State(models.TextChoices):
        COMPUTED = "computed", _("computed")
        CONFIRMED = "confirmed", _("confirmed and locked")

    period = models.ForeignKey("appraisal.Period", verbose_name=_("period"), on_delete=models.PROTECT,
                               related_name="pay_runs")
    version = models.PositiveIntegerField(_("version"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.COMPUTED)
    reason = models.CharField(_("reason"), max_length=200)
    policies = models.JSONField(_("policy versions"), default=dict)  # {"department type or *": "code v2"}
    people = models.PositiveIntegerField(_("people"), default=0)
    total = models.DecimalField(_("total"), max_digits=16, decimal_places=2, default=Decimal("0.00"))
    components = models.JSONField(_("component columns"), default=list)  # [[code, name], …] in policy order
    # What each component column pays in the whole run, by code ({"perf": "123456.00"}): the slips'
    # paid lines added up once, when the run is computed (payroll.services.compute_pay_run). The run
    # page and the API read these instead of decoding every slip's lines on each request.
    component_totals = models.JSONField(_("component totals"), default=dict, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    computed_at = models.DateTimeField(_("computed at"), auto_now_add=True)
    computed_by = models.ForeignKey("organizations.User", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by = models.ForeignKey("organizations.User", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    # Computed while people's results of the period still wait for calibration (a tie at a quota
    # line, a cap exceeded): finance may not confirm it. ``waiting`` counts those results and
    # ``waiting_names`` names the first of them. Kept current by payroll.services.compute_pay_run;
    # confirm_pay_run looks at the results again.
    provisional = models.BooleanField(_("provisional pay"), default=False)
    waiting = models.PositiveIntegerField(_("results waiting for calibration"), default=0)
    waiting_names = models.JSONField(_("first results waiting for calibration"), default=list, blank=True)
    # The period went back to calibration after this run was computed: its results are no longer
    # current, so the run may not be confirmed; the next close computes a new version.
    superseded_at = models.DateTimeField(_("superseded at"), null=True, blank=True)
    superseded_reason = models.CharField(_("why superseded"), max_length=300, blank=True)
    # Departments whose labour cost in this run is over their budget (PayBudget), as computed:
    # [{"department": code, "name": …, "budget": "…", "cost": "…"}]. Finance confirms such a run
    # only with a reason (payroll.budgets), kept here and in the run's history.
    over_budget = models.JSONField(_("over budget"), default=list, blank=True)
    budget_override_reason = models.CharField(_("why confirmed over budget"), max_length=300, blank=True)

    history = TenantHistory()

    class Meta:
        verbose_name = _("pay run")
        verbose_name_plural = _("pay runs")
        ordering = ["period", "-version"]
        constraints = [
            # One row per version: two racing computations cannot both write version n.
            models.UniqueConstraint(fields=["organization", "period", "version"], name="uniq_pay_run_version"),
        ]

    def __str__(self) -> str:
        return f"{self.period_id} v{self.version}"


class PayBudget(TenantOwned):
    """A labour-cost budget (S1-4 §13.5): what one period's pay of a department may cost, its
    sub-departments' people included. A run over it is flagged; finance confirms it only with a
    reason (payroll.budgets)."""

    period = models.ForeignKey("appraisal.Period", verbose_name=_("period"), on_delete=models.CASCADE,
                               related_name="pay_budgets")
    department = models.ForeignKey("organizations.Department", verbose_name=_("department"),
                                   on_delete=models.CASCADE, related_name="pay_budgets")
    amount = models.DecimalField(_("budget"), max_digits=16, decimal_places=2)

    history = TenantHistory()

    class Meta:
        verbose_name = _("labour-cost budget")
        verbose_name_plural = _("labour-cost budgets")
        ordering = ["period", "department"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "period", "department"], name="uniq_pay_budget"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="pay_budget_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.period_id}/{self.department_id}: {self.amount}"


class PaySlip(TenantOwned):
    """One person's pay in one run: the lines (code, name, amount, paid, explanation) add up to
    ``total`` exactly; ``balances`` are the closing balances of withheld and accrued components."""

    run = models.ForeignKey(PayRun, verbose_name=_("pay run"), on_delete=models.CASCADE, related_name="slips")
    person = models.ForeignKey("organizations.Person", verbose_name=_("person"), on_delete=models.PROTECT,
                               related_name="pay_slips")
    department = models.ForeignKey("organizations.Department", verbose_name=_("department"),
                                   on_delete=models.PROTECT, related_name="+")
    grade = models.CharField(_("grade"), max_length=20, blank=True)
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2)
    lines = models.JSONField(_("lines"))
    # The paid lines' amounts by component code ("600.00"), a copy of what ``lines`` says: the pay
    # sheet and the delta read only these, and decoding every slip's explanations to get them was
    # most of an export at 100,000 people.
    amounts = models.JSONField(_("paid amounts"), default=dict, blank=True)
    balances = models.JSONField(_("balances"), default=dict, blank=True)

    class Meta:
        verbose_name = _("pay slip")
        verbose_name_plural = _("pay slips")
        ordering = ["department_id", "person_id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "run", "person"], name="uniq_pay_slip"),
        ]
        indexes = [models.Index(fields=["organization", "run", "department"], name="payslip_org_run_dept")]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.person_id}: {self.total}"

    def amount(self, code: str) -> Decimal:
        for line in self.lines:
            if line["code"] == code:
                return Decimal(line["amount"])
        return Decimal("0.00")


class StagedSlip(Staged):
    """A slip a part of a pay computation computed and nobody sees yet (payroll.pay_parts): the
    computation's last step makes them the slips of a new run at once, then removes them."""

    person = scratch_key("organizations.Person")
    department = scratch_key("organizations.Department")
    grade = models.CharField(max_length=20, blank=True)
    total = models.DecimalField(max_digits=14, decimal_places=2)
    lines = models.JSONField()
    amounts = models.JSONField(default=dict, blank=True)
    balances = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            # A part run twice stages its slips once.
            models.UniqueConstraint(fields=["organization", "job", "person"], name="uniq_staged_slip"),
        ]
        indexes = [models.Index(fields=["job", "chunk"], name="staged_slip_chunk")]
