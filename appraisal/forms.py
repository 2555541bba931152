"""Forms of the appraisal pages: create a period, filter sheets, and the per-line forms of a sheet.

A sheet line's form has the fields its scoring method needs (indicators.scoring.required_inputs):
target and actual for completion and bands, named inputs for formulas, a scale label for a rating
entered as data, accepted and the round for acceptance; deduction and bonus lines take recorded
occurrences instead. Every field is named after the SheetLine field it fills, so what a form
posts is what services.update_line is given.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appraisal.models import GradingPolicy, Period, Sheet, SheetLine, SpecialStatus
from appraisal.periods import MONTHS_PER_PERIOD, PERIODS_PER_YEAR, period_code
from appraisal.selectors import INCOMPLETE, NO_DATA, PROVISIONAL, UNRATED, completeness_filter
from appraisal.services.statuses import REASON_MAX
from indicators import scoring
from indicators.models import BaselineSource, Template
from indicators.services import plain

INPUT_PREFIX = "input."
DEADLINES = ("self_due", "scoring_due", "review_due", "publish_due")

# A line value with the model's precision (18 digits, 4 after the point), read the way forms read numbers.
_VALUE = forms.DecimalField(max_digits=18, decimal_places=4)
_ROUND = forms.IntegerField(min_value=1, max_value=32767)


def _css(form: forms.BaseForm) -> None:
    for field in form.fields.values():
        if isinstance(field.widget, forms.CheckboxSelectMultiple):
            field.widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(field.widget, forms.Select):
            field.widget.attrs.setdefault("class", "form-select")
        else:
            field.widget.attrs.setdefault("class", "form-control")


def shown(value: Decimal | None) -> str:
    """A stored value as people write it: 290, not 290.0000; empty for none."""
    return "" if value is None else plain(value)


# --- periods ------------------------------------------------------------------------------------


class DeadlineInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


class PeriodForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("kind"), choices=Period.Kind.choices, initial=Period.Kind.MONTHLY)
    year = forms.IntegerField(label=gettext_lazy("year"), min_value=2000, max_value=2100)
    number = forms.IntegerField(label=gettext_lazy("number in year"), min_value=1,
                                help_text=gettext_lazy("Month 1–12, quarter 1–4, half 1–2, or 1."))
    start_day = forms.IntegerField(
        label=gettext_lazy("start day"), min_value=1, max_value=28, initial=1,
        help_text=gettext_lazy("The day periods start on: 26 for books closed on the 25th."),
    )
    start_month = forms.IntegerField(
        label=gettext_lazy("start month"), min_value=1, max_value=12, initial=1, required=False,
        help_text=gettext_lazy("The month the year starts in: 9 for a school year, 4 for an April fiscal year, 1 for "
                               "calendar years. Periods count from it (quarter 1 of a year from September: September "
                               "to November)."),
    )
    name = forms.CharField(label=gettext_lazy("name"), max_length=100, required=False,
                           help_text=gettext_lazy("Blank: the code, e.g. 2025-10."))
    templates: forms.ModelMultipleChoiceField[Template] = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Templates"), queryset=None, widget=forms.CheckboxSelectMultiple
    )
    grading_policy: forms.ModelChoiceField[GradingPolicy] = forms.ModelChoiceField(
        label=gettext_lazy("grading policy"), queryset=None, required=False,
        help_text=gettext_lazy("Grades, quotas and rules the period is closed with; it can be chosen later."))
    self_due = forms.DateTimeField(label=gettext_lazy("self-assessment due"), required=False, widget=DeadlineInput())
    scoring_due = forms.DateTimeField(label=gettext_lazy("scoring due"), required=False, widget=DeadlineInput())
    review_due = forms.DateTimeField(label=gettext_lazy("review due"), required=False, widget=DeadlineInput())
    publish_due = forms.DateTimeField(label=gettext_lazy("publication due"), required=False, widget=DeadlineInput())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        templates = self.fields["templates"]
        assert isinstance(templates, forms.ModelMultipleChoiceField)
        templates.queryset = Template.objects.filter(is_active=True).order_by("code", "-version")
        policy = self.fields["grading_policy"]
        assert isinstance(policy, forms.ModelChoiceField)
        policy.queryset = GradingPolicy.objects.order_by("code", "-version")
        self.fields["year"].initial = dt.date.today().year
        _css(self)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind, year, number = cleaned.get("kind"), cleaned.get("year"), cleaned.get("number")
        start_month = cleaned.get("start_month") or 1
        if kind and number is not None:
            most = PERIODS_PER_YEAR[kind]
            code = period_code(kind, year, number, start_month) if year is not None and number <= most else ""
            if number > most:
                self.add_error("number", _("A %(kind)s period is numbered 1 to %(most)s.")
                               % {"kind": Period.Kind(kind).label, "most": most})
            elif code and Period.objects.filter(code=code).exists():
                self.add_error("number", _("Period %(code)s exists already.") % {"code": code})
        return cleaned

    def values(self) -> dict[str, Any]:
        """The arguments of services.create_period (besides organisation and user)."""
        data = self.cleaned_data
        return {
            "kind": data["kind"], "year": data["year"], "number": data["number"], "start_day": data["start_day"],
            "start_month": data.get("start_month") or 1,
            "name": data["name"], "templates": list(data["templates"]), "grading_policy": data.get("grading_policy"),
            "deadlines": {key: data[key] for key in DEADLINES if data.get(key) is not None},
        }


# --- sheets -------------------------------------------------------------------------------------

SPECIAL = "special"


def _periods(request: HttpRequest | None) -> QuerySet[Period]:
    # A callable: the options are read inside the request's tenant scope.
    return Period.objects.exclude(state=Period.State.DRAFT).order_by("-start", "code")


class SheetFilter(django_filters.FilterSet):
    period = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Period"), queryset=_periods, empty_label=gettext_lazy("All periods"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    q = django_filters.CharFilter(
        label=gettext_lazy("Search"), method="filter_search",
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("Name, employee number, team or department"),
                                      "type": "search", "class": "form-control"}),
    )

    completeness = django_filters.ChoiceFilter(
        label=gettext_lazy("Progress"), method="filter_completeness", empty_label=gettext_lazy("All sheets"),
        choices=[(INCOMPLETE, gettext_lazy("Incomplete: blocks the close")),
                 (UNRATED, gettext_lazy("A rater has not rated")),
                 (NO_DATA, gettext_lazy("A line has no data")),
                 (PROVISIONAL, gettext_lazy("Provisional: not all entered or rated")),
                 (SPECIAL, gettext_lazy("With a special status"))],
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    class Meta:
        model = Sheet
        fields = ["period", "q", "completeness"]

    def filter_completeness(self, queryset: QuerySet[Sheet], name: str, value: str) -> QuerySet[Sheet]:
        if value == SPECIAL:
            return queryset.exclude(special_status=SpecialStatus.NORMAL)
        return queryset.filter(completeness_filter(value)) if value else queryset

    def filter_search(self, queryset: QuerySet[Sheet], name: str, value: str) -> QuerySet[Sheet]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(person__name__icontains=value) | Q(person__employee_no__icontains=value)
            | Q(team__name__icontains=value) | Q(department__name__icontains=value)
        )


class SpecialStatusForm(forms.Form):
    """HR's special status for a sheet (免考, 长期请假, 拒不参加, or back to normal), with a reason."""

    status = forms.ChoiceField(label=gettext_lazy("Special status"),
                               choices=[("", gettext_lazy("Choose")), *SpecialStatus.choices],
                               widget=forms.Select(attrs={"class": "form-select form-select-sm"}))
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=REASON_MAX,
                             widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}))


# --- one line's data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DataField:
    """One input of a line's data form. ``column`` is where the sheet shows it: target or actual."""

    name: str
    label: str
    kind: str  # "number", "integer" or "select"
    value: str
    column: str = "actual"
    choices: tuple[tuple[str, str], ...] = ()


def scale_labels(config: dict[str, Any]) -> list[str]:
    return [str(entry.get("label", "")).strip() for entry in config.get("scale", []) if isinstance(entry, dict)]


def record_items(config: dict[str, Any]) -> list[tuple[str, str]]:
    """(code, name) of a deduction or bonus line's items."""
    return [(str(item.get("code", "")), str(item.get("name") or item.get("code", "")))
            for item in config.get("items", []) if isinstance(item, dict)]


def takes_records(line: SheetLine) -> bool:
    return line.method in (scoring.Method.DEDUCTION, scoring.Method.BONUS)


def data_fields(line: SheetLine) -> list[DataField]:
    """The inputs a data line needs, from its method and configuration."""
    if takes_records(line):
        return []
    try:
        needed = scoring.required_inputs(line.method, line.config)
    except scoring.ConfigError:
        return []
    if line.method == scoring.Method.RATING:
        labels = scale_labels(line.config)
        return [DataField("rating", _("Rating"), "select", line.rating,
                          choices=(("", "—"), *((label, label) for label in labels)))]
    if line.method == scoring.Method.PASS_FAIL:
        accepted = "" if line.accepted is None else ("1" if line.accepted else "0")
        return [
            DataField("accepted", _("Accepted"), "select", accepted,
                      choices=(("", "—"), ("1", _("Yes")), ("0", _("No")))),
            DataField("acceptance_round", _("Round"), "integer",
                      "" if line.acceptance_round is None else str(line.acceptance_round)),
        ]
    fields = []
    baseline = baseline_inputs(line)
    if baseline:
        # The baseline is entered with the data (an input, or ten-day averages) and stands in for the target.
        fields += [DataField(INPUT_PREFIX + name, name, "number", _stored_input(line, name), column="target")
                   for name in baseline]
    elif "target" in needed:
        fields.append(DataField("target", _("Target"), "number", shown(line.target), column="target"))
    if "actual" in needed:
        fields.append(DataField("actual", _("Actual"), "number", shown(line.actual)))
    for name in sorted(needed - {"actual", "target"}):
        fields.append(DataField(INPUT_PREFIX + name, name, "number", _stored_input(line, name)))
    return fields


def _stored_input(line: SheetLine, name: str) -> str:
    stored = (line.inputs or {}).get(name)
    return "" if stored is None else str(stored)


def baseline_inputs(line: SheetLine) -> list[str]:
    """The inputs a line's baseline is entered as, when it has no target: "baseline" itself, or
    one ten-day (旬) average per ten days of the period (three a month)."""
    if line.target is not None or not line.baseline_source:
        return []
    if line.baseline_source == BaselineSource.INPUT:
        return ["baseline"]
    if line.baseline_source == BaselineSource.TEN_DAY_AVERAGE:
        period = line.sheet.period if "sheet" in line._state.fields_cache else None
        months = MONTHS_PER_PERIOD.get(period.kind, 1) if period is not None else 1
        names = [f"tenday_{n}" for n in range(1, 3 * months + 1)]
        extra = sorted(k for k in (line.inputs or {}) if k.startswith("tenday_") and k not in names)
        return names + extra
    return []


def parse_line_data(line: SheetLine, data: QueryDict) -> tuple[dict[str, Any], list[str]]:
    """What a posted line form changes (keyword arguments of services.update_line), and the problems.

    Only the fields the line's method uses are read; a field not posted is left as it is."""
    changes: dict[str, Any] = {}
    problems: list[str] = []
    inputs = dict(line.inputs or {})
    for field in data_fields(line):
        if field.name not in data:
            continue
        raw = data.get(field.name, "").strip()
        try:
            if field.name == "rating":
                if raw and raw not in dict(field.choices):
                    raise forms.ValidationError(_("%(value)s is not on the scale.") % {"value": raw})
                changes["rating"] = raw
            elif field.name == "accepted":
                changes["accepted"] = None if raw == "" else raw == "1"
            elif field.name == "acceptance_round":
                changes["acceptance_round"] = _ROUND.clean(raw) if raw else None
            elif field.name.startswith(INPUT_PREFIX):
                name = field.name[len(INPUT_PREFIX):]
                if raw:
                    inputs[name] = str(_VALUE.clean(raw))
                else:
                    inputs.pop(name, None)
                changes["inputs"] = inputs
            else:
                changes[field.name] = _VALUE.clean(raw) if raw else None
        except forms.ValidationError as error:
            problems.append(f"{field.label}: {' '.join(error.messages)}")
    return changes, problems


class RecordForm(forms.Form):
    """An occurrence of a deduction or bonus item (with evidence), prefixed per line."""

    item_code = forms.ChoiceField(label=gettext_lazy("item"))
    count = forms.IntegerField(label=gettext_lazy("count"), min_value=1, max_value=1000, initial=1)
    occurred_on = forms.DateField(label=gettext_lazy("date"),
                                  widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    evidence = forms.CharField(label=gettext_lazy("evidence"), required=False, max_length=1000)

    def __init__(self, *args: Any, line: SheetLine, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", f"record-{line.pk}")
        super().__init__(*args, **kwargs)
        item = self.fields["item_code"]
        assert isinstance(item, forms.ChoiceField)
        item.choices = record_items(line.config)
        # A record belongs to its period: the date starts as today when today is inside the period,
        # else as the nearest day of it (a record entered after the period's end is about its end).
        period = line.sheet.period
        self.fields["occurred_on"].initial = min(max(timezone.localdate(), period.start), period.end)
        self.fields["occurred_on"].widget.attrs.update(min=period.start.isoformat(), max=period.end.isoformat())
        for field in self.fields.values():
            select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = "form-select form-select-sm" if select else "form-control form-control-sm"


@dataclass(frozen=True)
class RatingInput:
    rater_id: int | None
    rating: str
    actual: Decimal | None
    comment: str
    version: int | None


def parse_rating(line: SheetLine, data: QueryDict) -> tuple[RatingInput, list[str]]:
    """A posted rating: the rater (one of the user's own, checked by the view), a label or a value."""
    problems: list[str] = []

    def integer(name: str) -> int | None:
        raw = data.get(name, "").strip()
        if not raw:
            return None
        try:
            return int(raw)
        except ValueError:
            problems.append(_("%(name)s: not a whole number.") % {"name": name})
            return None

    rating = data.get("rating", "").strip()
    actual: Decimal | None = None
    raw_actual = data.get("actual", "").strip()
    if raw_actual:
        try:
            actual = _VALUE.clean(raw_actual)
        except forms.ValidationError as error:
            problems.append(_("Value: %(problem)s") % {"problem": " ".join(error.messages)})
    if line.method == scoring.Method.RATING and rating and rating not in scale_labels(line.config):
        problems.append(_("%(value)s is not on the scale.") % {"value": rating})
    if not rating and actual is None and not problems:
        problems.append(_("Give a rating or a value."))
    result = RatingInput(integer("rater"), rating, actual, data.get("comment", "").strip(), integer("version"))
    return result, problems
