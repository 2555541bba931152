"""The grading policy editor's forms: the policy's own fields, and its bands, quotas and rules as
rows. The fields only read what HR types (numbers, choices); whether the policy holds together is
for appraisal.policy_checks, the one check the JSON page and the API go through too."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from appraisal.labels import OUTCOME_LABELS
from appraisal.models import GradingPolicy
from indicators.editors.fields import amount, percent, style
from organizations.models import ReviewGroup

CHOOSE = pgettext_lazy("empty choice of a select", "Choose")
SHARE, COUNT, BETWEEN = "share", "count", "between"

BOUNDARY_CHOICES = [
    ("lower_inclusive", _("a band includes its lower bound (80 ≤ score < 90)")),
    ("upper_inclusive", _("a band includes its upper bound (80 < score ≤ 90)")),
]
OP_CHOICES = [("<=", "≤"), (">=", "≥"), ("=", "="), (BETWEEN, pgettext_lazy("quota", "from … to"))]
UNIT_CHOICES = [(SHARE, _("percent of the population")), (COUNT, _("number of people"))]
KIND_CHOICES = [
    ("streak", _("N periods in a row")),
    ("count_in_window", _("N of the last M periods")),
    ("bottom_n", _("the last N of the ranking")),
]
# A condition's test: on the score or the grade, or on a fact of the period ("fact:<test>").
CONDITION_CHOICES = [
    ("", _("no condition")),
    ("score_below", _("score below")),
    ("score_at_most", _("score at most")),
    ("score_at_least", _("score at least")),
    ("grade_in", _("grade is one of")),
    ("fact:above", _("fact above")),
    ("fact:at_least", _("fact at least")),
    ("fact:below", _("fact below")),
    ("fact:at_most", _("fact at most")),
    ("fact:equals", _("fact equal to")),
]
# The outcomes the pages know a label for (appraisal.labels), without the two only the close writes.
KEPT_OUTCOME = pgettext_lazy("rule outcome", "another outcome, kept as it is")
OUTCOME_CHOICES = [(key, label) for key, label in OUTCOME_LABELS.items() if key not in ("not_applied", "closed_anyway")]


def _grade_field(label: Any, help_text: Any = "") -> forms.CharField:
    """A grade code typed or picked from the scale's codes (the datalist): the policy check, not the
    form, says when it is not a grade of the scale."""
    return forms.CharField(label=label, required=False, max_length=20, help_text=help_text,
                           widget=forms.TextInput(attrs={"list": "grade-codes"}))


class PolicyHeaderForm(forms.Form):
    code = forms.CharField(label=_("code"), max_length=30, help_text=_("An existing code makes a new version."))
    name = forms.CharField(label=_("name"), max_length=100)
    boundary = forms.ChoiceField(label=_("band boundaries"), choices=BOUNDARY_CHOICES, initial="lower_inclusive")
    population = forms.ChoiceField(label=_("quotas apply to"), choices=GradingPolicy.Population.choices,
                                   initial=GradingPolicy.Population.ORGANIZATION)
    rounding = forms.ChoiceField(label=_("quota rounding"), choices=GradingPolicy.Rounding.choices,
                                 initial=GradingPolicy.Rounding.HALF_UP)
    calibration_share = percent(_("calibration cap"), required=True,
                                help_text=_("How far HR may move a score in calibration: 5 for ±5 %."))
    exempt_grade = _grade_field(_("grade when exempt"), _("Empty: not assessed."))
    long_leave_grade = _grade_field(_("grade on long leave"), _("Empty: not assessed."))
    appeal_group: forms.ModelChoiceField[ReviewGroup] = forms.ModelChoiceField(
        label=_("group deciding appeals"), queryset=None, required=False, to_field_name="code", empty_label=CHOOSE)
    untold_extension_days = forms.IntegerField(
        label=_("window extension when the notice failed"), min_value=0, max_value=30, initial=0,
        help_text=_("Working days added to the review window of a person whose publication notice failed."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        group = self.fields["appeal_group"]
        assert isinstance(group, forms.ModelChoiceField)
        group.queryset = ReviewGroup.objects.order_by("code")
        style(self)


class BandRow(forms.Form):
    """One band of the scale, best first: it starts at its lower bound and ends where the band above starts."""

    grade = forms.CharField(label=_("grade code"), required=False, max_length=20)
    label = forms.CharField(label=_("name of the grade"), required=False, max_length=50)
    lower = amount(_("lower bound"), help_text=_("Empty on the lowest band: open below."))
    upper = amount(_("upper bound (best band only)"))
    coefficient = amount(_("pay coefficient"))


class QuotaRow(forms.Form):
    grade = _grade_field(_("grade"))
    op = forms.ChoiceField(label=_("quota"), choices=OP_CHOICES, initial="<=")
    unit = forms.ChoiceField(label=_("given as"), choices=UNIT_CHOICES, initial=SHARE)
    value = amount(_("share (%) or people"))
    max_count = amount(_("up to (people)"))


class RuleRow(forms.Form):
    code = forms.CharField(label=_("code"), required=False, max_length=50)
    name = forms.CharField(label=_("name"), required=False, max_length=100)
    kind = forms.ChoiceField(label=_("kind"), choices=KIND_CHOICES, initial="streak")
    n = forms.IntegerField(label=_("N"), required=False, min_value=0)
    of_last = forms.IntegerField(label=_("of the last M"), required=False, min_value=0)
    same_year = forms.BooleanField(label=_("within the year"), required=False)
    current_must_meet = forms.BooleanField(label=_("this period must meet it"), required=False)
    min_population = forms.IntegerField(label=_("smallest ranking"), required=False, min_value=0)
    condition = forms.ChoiceField(label=_("condition"), choices=CONDITION_CHOICES, required=False)
    fact = forms.CharField(label=_("fact"), required=False, max_length=100,
                           widget=forms.TextInput(attrs={"list": "rule-facts"}))
    value = forms.CharField(label=_("score, number or grades"), required=False, max_length=100)
    outcome = forms.ChoiceField(label=_("outcome"), choices=OUTCOME_CHOICES, initial="set_grade")
    grade = _grade_field(_("grade set"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # An outcome is a key the caller acts on: one HR invented (no label) is kept as it is, not shown as a key.
        known = {value for value, _label in OUTCOME_CHOICES}
        given = self.data.get(self.add_prefix("outcome")) if self.is_bound else (self.initial or {}).get("outcome")
        if given and given not in known:
            outcome = self.fields["outcome"]
            assert isinstance(outcome, forms.ChoiceField)
            outcome.choices = [*OUTCOME_CHOICES, (given, KEPT_OUTCOME)]
