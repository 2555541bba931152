"""Forms of the HR pages for the indicator catalogue, benchmarks and templates.

Choice lists are read per form (inside the request's tenant scope), never at import time. The
forms check shape and obvious mistakes; the services (indicators.services) do the audited writes
and have the last word, so a form never saves a model itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from indicators import scoring
from indicators.models import Benchmark, Indicator
from organizations import selectors
from organizations.models import Department, Team

# The documented example of each scoring method (indicators.scoring's module docstring), offered
# in the configuration field when HR picks a method. tests check that each one is valid.
METHOD_EXAMPLES: dict[str, dict[str, Any]] = {
    scoring.Method.COMPLETION: {
        "basis": "benchmark", "lower_mode": "ratio", "floor_rate": "0", "cap_rate": "1.2",
        "zero_target": "met_full", "rate_places": None,
    },
    scoring.Method.BANDED: {
        "measure": "actual", "boundary": "lower_inclusive", "unit": "points",
        "bands": [
            {"from": None, "to": "60", "points": "0"},
            {"from": "60", "to": "80", "points": "6"},
            {"from": "80", "to": None, "points": "10"},
        ],
        "otherwise": None,
    },
    scoring.Method.DEDUCTION: {
        "items": [{"code": "smoke", "name": "柜台内烟头", "points": "5", "money": None, "cap_points": None,
                   "cap_money": None, "tiers": [{"from_count": 4, "points": "8", "money": None}]}],
        "money_per_point": "20", "total_cap_points": None, "total_cap_money": "300", "floor": "0",
    },
    scoring.Method.BONUS: {
        "items": [{"code": "praise", "name": "媒体表扬", "points": "3", "money": "0"}],
        "money_per_point": None, "total_cap_points": "6", "total_cap_money": None,
    },
    scoring.Method.RATING: {
        "unit": "points",
        "scale": [{"label": "优秀", "points": "10"}, {"label": "良好", "points": "8"},
                  {"label": "合格", "points": "6"}, {"label": "差", "points": "0"}],
    },
    scoring.Method.PASS_FAIL: {"round_shares": ["1", "0.8", "0.6"], "fail_share": "0"},
    scoring.Method.FORMULA: {"expression": "MIN(actual / target, 1.2) * max_points", "inputs": []},
}

# One sentence per method under the configuration field; the full rules are in the user guide.
METHOD_HELP: dict[str, Any] = {
    scoring.Method.COMPLETION: _("Rate = actual ÷ target (target ÷ actual when lower is better), clamped to "
                                 "floor_rate…cap_rate; points = full marks × rate."),
    scoring.Method.BANDED: _("Bands of the actual (or of the completion rate) without gaps or overlaps; each band "
                             "gives points, or a share of the full marks."),
    scoring.Method.DEDUCTION: _("Each recorded occurrence of an item costs its points (tiers from a count on); "
                                "score = full marks − deductions, not below floor."),
    scoring.Method.BONUS: _("Each recorded occurrence of an item adds its points, up to total_cap_points."),
    scoring.Method.RATING: _("Raters (or data entry) pick a label of the scale; each label gives points or a "
                             "share of the full marks."),
    scoring.Method.PASS_FAIL: _("Accepted at round r earns round_shares[r−1] × full marks; not accepted earns "
                                "fail_share × full marks."),
    scoring.Method.FORMULA: _("An expression over actual, target, max_points and the declared inputs, e.g. "
                              "MIN(actual / target, 1.2) * max_points."),
}

NUMBERS_AS_STRINGS = _('Numbers are written as strings ("1.2"), never as bare numbers.')


def _model_choices(form: forms.BaseForm, name: str) -> forms.ModelChoiceField[Any]:
    """A form's own copy of a declared ModelChoiceField, whose queryset is set per request."""
    field = form.fields[name]
    assert isinstance(field, forms.ModelChoiceField)
    return field


def example_config(method: str) -> str:
    """The method's example as the text HR edits: indented, Chinese left readable."""
    return json.dumps(METHOD_EXAMPLES.get(method, {}), ensure_ascii=False, indent=2)


class PrettyJSONField(forms.JSONField):
    """A JSON textarea that shows the stored value indented and Chinese unescaped."""

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2, cls=self.encoder)


class IndicatorForm(forms.ModelForm):
    # Declared, so that no queryset is built at import time (outside any tenant scope); set per form.
    parent: forms.ModelChoiceField[Indicator] = forms.ModelChoiceField(
        label=_("parent indicator"), queryset=None, required=False
    )
    method = forms.ChoiceField(label=_("scoring method"), choices=scoring.Method.choices)
    config = PrettyJSONField(
        label=_("scoring configuration"), required=False,
        widget=forms.Textarea(attrs={"rows": 14, "class": "form-control font-monospace", "spellcheck": "false"}),
        help_text=NUMBERS_AS_STRINGS,
    )

    class Meta:
        model = Indicator
        fields = ["code", "name", "unit", "dimension", "parent", "direction", "evidence_required", "method", "config",
                  "baseline_source", "description", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parents: QuerySet[Indicator] = Indicator.objects.filter(is_active=True)
        if self.instance.pk is not None:
            parents = parents.exclude(pk=self.instance.pk)
        else:
            # A new indicator is active; deactivating is an edit.
            del self.fields["is_active"]
            self.initial.setdefault("config", METHOD_EXAMPLES[scoring.Method.COMPLETION])
        self._choices("parent").queryset = parents
        self.fields["description"].widget.attrs["rows"] = 2
        for field in self.fields.values():
            if isinstance(field.widget, forms.CheckboxInput):
                field.widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(field.widget, forms.Select):
                field.widget.attrs.setdefault("class", "form-select")
            else:
                field.widget.attrs.setdefault("class", "form-control")

    def _choices(self, name: str) -> forms.ModelChoiceField[Any]:
        return _model_choices(self, name)

    def clean_code(self) -> str:
        code = str(self.cleaned_data["code"]).strip()
        taken = Indicator.objects.filter(code=code)
        if self.instance.pk is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(_("Another indicator already has the code %(code)s."), params={"code": code})
        return code

    def clean_config(self) -> dict[str, Any]:
        config = self.cleaned_data.get("config")
        if config is None:
            return {}
        if not isinstance(config, Mapping):
            raise forms.ValidationError(_("The configuration must be a JSON object: {…}."))
        return dict(config)

    def values(self) -> dict[str, Any]:
        """What the services take: the cleaned fields by name."""
        return {name: self.cleaned_data[name] for name in self.Meta.fields if name in self.cleaned_data}


class IndicatorFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"), method="filter_search",
        widget=forms.TextInput(attrs={"placeholder": _("Code or name"), "type": "search", "class": "form-control"}),
    )
    method = django_filters.ChoiceFilter(
        label=_("scoring method"), choices=scoring.Method.choices, empty_label=_("Any method"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    class Meta:
        model = Indicator
        fields = ["q", "method"]

    def filter_search(self, queryset: QuerySet[Indicator], name: str, value: str) -> QuerySet[Indicator]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value))


class BenchmarkForm(forms.Form):
    value = forms.DecimalField(label=_("value"), max_digits=18, decimal_places=4)
    kind = forms.ChoiceField(label=_("kind"), choices=Benchmark.Kind.choices, initial=Benchmark.Kind.TARGET)
    months = forms.CharField(
        label=_("months"), required=False,
        help_text=_("Month numbers separated by commas, e.g. 11,12,1,2,3; empty means every month."),
    )
    department: forms.ModelChoiceField[Department] = forms.ModelChoiceField(
        label=_("department"), queryset=None, required=False, empty_label=_("Whole organization")
    )
    team: forms.ModelChoiceField[Team] = forms.ModelChoiceField(
        label=_("team or shift"), queryset=None, required=False, empty_label=_("Any team or shift")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _model_choices(self, "department").queryset = selectors.departments().filter(is_active=True)
        _model_choices(self, "team").queryset = selectors.teams().filter(is_active=True)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)

    def clean_months(self) -> list[int]:
        text = str(self.cleaned_data.get("months") or "").replace("，", ",")
        months: list[int] = []
        for piece in (p.strip() for p in text.split(",")):
            if not piece:
                continue
            if not piece.isdigit() or not 1 <= int(piece) <= 12:
                raise forms.ValidationError(
                    _("%(value)s is not a month: use numbers from 1 to 12."), params={"value": piece}
                )
            if int(piece) not in months:
                months.append(int(piece))
        return months

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("department") and cleaned.get("team"):
            raise forms.ValidationError(_("Choose a department or a team, not both."))
        return cleaned

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        scope = {key: data[key] for key in ("department", "team") if data.get(key) is not None}
        value: Decimal = data["value"]
        return {"value": value, "kind": data["kind"], "months": data["months"], **scope}


TEMPLATE_SPEC_EXAMPLE = {
    "code": "STAFF", "name": "员工月度考核", "subject_kind": "person", "base_score": "100",
    "parts": [
        {"code": "kpi", "name": "指标", "weight": "0.6", "full_marks": "100",
         "lines": [{"indicator": "OUTPUT", "max_points": "100"}]},
        {"code": "work", "name": "工作表现", "weight": "0.4", "full_marks": "100",
         "lines": [{"indicator": "WORK", "max_points": "100", "source": "raters"}]},
    ],
    "raters": [{"role": "self", "weight": "0.2", "missing_counts_as_zero": True},
               {"role": "supervisor", "weight": "0.8"}],
}


def load_json(text: str) -> Any:
    """JSON typed into a form field; a ValidationError naming the line and column where it breaks."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise forms.ValidationError(
            _("Not valid JSON: %(error)s (line %(line)s, column %(column)s)."),
            params={"error": error.msg, "line": error.lineno, "column": error.colno},
        ) from None


class TemplateSpecForm(forms.Form):
    spec = forms.CharField(
        label=_("Template (JSON)"),
        widget=forms.Textarea(attrs={"rows": 24, "class": "form-control font-monospace", "spellcheck": "false"}),
        help_text=NUMBERS_AS_STRINGS,
    )

    def clean_spec(self) -> dict[str, Any]:
        spec = load_json(self.cleaned_data["spec"])
        if not isinstance(spec, dict):
            raise forms.ValidationError(_("The template must be a JSON object: {…}."))
        return spec


def example_spec() -> str:
    return json.dumps(TEMPLATE_SPEC_EXAMPLE, ensure_ascii=False, indent=2)
