"""Standing, effective-dated parameters of a person or a department (issue #12 item 4, #17 item 5).

What stays true from period to period and used to be typed again every period as a pay input:
S0-3's department coefficients (business, skill, risk, workload), S1-6's eight personal factors,
S1-2's seniority. A parameter has a ``name`` (an identifier pay formulas read), a ``value`` and a
range of dates in force, ``effective_from`` to ``effective_to`` (both included; no end: still in
force). Setting a new value from a date closes the range of the value it replaces the day before
(organizations.standing_services), so the ranges of one name of one person or department never
overlap and "the value on a date" is at most one row.

Pay reads them (payroll.standard): a person's parameter by its name, a department's as
``dept_param_<name>`` (PAY_PREFIX), both as in force at the period's end.

Names are checked here, where they are written: letters, digits and _ (what a formula can name),
not a Python keyword or a formula function, and none of the names an app above reads already
(the pay run's own standard inputs: ``score``, ``years_of_service`` …), which the app registers
with :func:`reserve_names` from its AppConfig.ready().
"""

from __future__ import annotations

import keyword
from collections.abc import Callable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.formula.language import FUNCTIONS
from organizations.tenancy import TenantHistory, TenantOwned

NAME_LENGTH = 40  # as a pay input's name (payroll.models.PayInput.name)
# Pay reads a department's parameter as dept_param_<name>: a department's name must leave room for
# the prefix within a pay input's 40 characters, so that a period's input can override it.
PAY_PREFIX = "dept_param_"
DEPARTMENT_NAME_LENGTH = NAME_LENGTH - len(PAY_PREFIX)

# Checks registered by the apps above (payroll: its standard input names): each returns why a
# name is taken, or "" when it is free.
_RESERVED: list[Callable[[str], str]] = []


def reserve_names(check: Callable[[str], str]) -> None:
    """Registers a check of names an app already supplies (called from AppConfig.ready())."""
    if check not in _RESERVED:
        _RESERVED.append(check)


def name_problem(name: str, *, for_department: bool) -> str:
    """Why ``name`` cannot name a standing parameter, or "" when it can."""
    limit = DEPARTMENT_NAME_LENGTH if for_department else NAME_LENGTH
    if not name:
        return gettext("Give a name.")
    if not name.isidentifier() or not name.isascii() or keyword.iskeyword(name) or name in FUNCTIONS:
        return gettext('"%(name)s" cannot be used as a name: use letters, digits and _, not starting with a digit, '
                       "and avoid the function names") % {"name": name}
    if len(name) > limit:
        return gettext("%(name)s is longer than %(length)s characters.") % {"name": name, "length": limit}
    if not for_department and name.startswith(PAY_PREFIX):
        return gettext('A person\'s parameter may not start with "%(prefix)s": pay reads department parameters '
                       "by that name.") % {"prefix": PAY_PREFIX}
    for check in _RESERVED:
        taken = check(name)
        if taken:
            return taken
    return ""


class StandingParameter(TenantOwned):
    """One value of a named parameter of a person or a department, in force over a range of dates."""

    person = models.ForeignKey("organizations.Person", verbose_name=_("person"), null=True, blank=True,
                               on_delete=models.CASCADE, related_name="standing_parameters")
    department = models.ForeignKey("organizations.Department", verbose_name=_("department"), null=True,
                                   blank=True, on_delete=models.CASCADE, related_name="standing_parameters")
    name = models.CharField(_("parameter"), max_length=NAME_LENGTH)
    value = models.DecimalField(_("value"), max_digits=18, decimal_places=4)
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective to"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = TenantHistory()

    class Meta:
        verbose_name = _("standing parameter")
        verbose_name_plural = _("standing parameters")
        ordering = ["name", "-effective_from"]
        constraints = [
            models.CheckConstraint(condition=Q(person__isnull=True) ^ Q(department__isnull=True),
                                   name="standing_parameter_person_xor_department"),
            models.CheckConstraint(condition=Q(effective_to__isnull=True) | Q(effective_to__gte=models.F(
                "effective_from")), name="standing_parameter_effective_range"),
            models.UniqueConstraint(fields=["organization", "person", "name", "effective_from"],
                                    condition=Q(person__isnull=False), name="uniq_standing_parameter_person"),
            models.UniqueConstraint(fields=["organization", "department", "name", "effective_from"],
                                    condition=Q(department__isnull=False), name="uniq_standing_parameter_department"),
        ]
        indexes = [models.Index(fields=["organization", "name", "effective_from"], name="standing_parameter_name")]

    def __str__(self) -> str:
        return f"{self.subject} {self.name} = {self.value}"

    @property
    def subject(self) -> object:
        return self.person if self.person_id is not None else self.department

    @property
    def value_text(self) -> str:
        """The value as entered, without the column's trailing zeros: 1.2000 → 1.2, 300.0000 → 300."""
        return format(Decimal(self.value).normalize(), "f")

    @property
    def pay_name(self) -> str:
        """The name a pay formula reads it by."""
        return self.name if self.person_id is not None else PAY_PREFIX + self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if (self.person_id is None) == (self.department_id is None):
            errors["person"] = gettext("Give either a person or a department.")
        else:
            problem = name_problem(self.name, for_department=self.department_id is not None)
            if problem:
                errors["name"] = problem
        if self.value is not None and not Decimal(self.value).is_finite():
            errors["value"] = gettext("The value must be a number.")
        if self.effective_to is not None and self.effective_to < self.effective_from:
            errors["effective_to"] = gettext("The end date is before the start date.")
        for field in ("person", "department"):
            related = getattr(self, field) if getattr(self, f"{field}_id") is not None else None
            if related is not None and related.organization_id != self.organization_id:
                errors[field] = gettext("This belongs to another organization.")
        if errors:
            raise ValidationError(errors)
