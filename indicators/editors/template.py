"""The template editor: the template's own fields, its parts (weights as percentages, full marks),
its lines picked from the catalogue and its raters, as a form and three row formsets.

They build the spec the JSON page and the API take (indicators.services.build_template), checked
the same way: the API's shape check, then the service, which lists every problem and writes
nothing when there is one. Running totals (part weights, each part's lines, rater weights) are
worked out from whatever is typed, so HR sees a total that does not add up before saving.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.forms import BaseFormSet, formset_factory
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from indicators.editors.fields import HUNDRED, amount, from_percent, number_text, percent, style, to_percent
from indicators.editors.indicator import MAX_ROWS, apply_action, styled
from indicators.models import Indicator, LineSource, RaterRole, Rounding, SubjectKind, Template, UnitSource
from organizations.models import Department, DepartmentType, ReviewGroup

CHOOSE = pgettext_lazy("empty choice of a select", "Choose")
TEAM_KINDS = [("", _("team or shift")), ("team", _("team")), ("shift", _("shift"))]


class CodeTables:
    """The rows' choices by code, each kind read once for the whole editor: the live preview
    validates every draft as HR types, and a lookup per row would grow with the template."""

    def __init__(self) -> None:
        self._tables: dict[str, dict[str, Any]] = {}

    def of(self, field: forms.ModelChoiceField[Any]) -> dict[str, Any]:
        queryset = field.queryset
        assert queryset is not None
        key = queryset.model._meta.label
        if key not in self._tables:
            name = field.to_field_name or "pk"
            self._tables[key] = {str(getattr(row, name)): row for row in queryset}
        return self._tables[key]


class ByCode(forms.ModelChoiceField):  # type: ignore[type-arg]
    """A row's pick by code, found in the editor's shared :class:`CodeTables` when it has one."""

    tables: CodeTables | None = None

    def to_python(self, value: Any) -> Any:
        if self.tables is None or value in self.empty_values:
            return super().to_python(value)
        found = self.tables.of(self).get(str(value).strip())
        if found is None:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice",
                                        params={"value": value})
        return found


class TemplateHeaderForm(forms.Form):
    code = forms.CharField(label=_("code"), max_length=30,
                           help_text=_("An existing code makes a new version."))
    name = forms.CharField(label=_("name"), max_length=200)
    subject_kind = forms.ChoiceField(label=_("subject"), choices=SubjectKind.choices, initial=SubjectKind.PERSON)
    base_score = amount(_("base score"), required=True)
    rounding = forms.ChoiceField(label=_("rounding"), choices=Rounding.choices, initial=Rounding.LINE)
    unit_share = percent(_("share of the unit's result"),
                         help_text=_("People only: e.g. 60 for 60 % the unit's result + 40 % the own sheet. Empty: the "
                                     "own sheet alone."))
    unit = forms.ChoiceField(label=_("unit whose result counts"), choices=[("", CHOOSE), *UnitSource.choices],
                             required=False)
    department_type: forms.ModelChoiceField[DepartmentType] = forms.ModelChoiceField(
        label=_("department type"), queryset=None, required=False, to_field_name="code")
    position = forms.CharField(label=_("position"), max_length=100, required=False)
    team_kind = forms.ChoiceField(label=_("team kind"), choices=TEAM_KINDS, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        types = self.fields["department_type"]
        assert isinstance(types, forms.ModelChoiceField)
        types.queryset = DepartmentType.objects.all()
        style(self)


class PartRow(forms.Form):
    code = forms.CharField(label=_("code"), required=False, max_length=30)
    name = forms.CharField(label=_("name"), required=False, max_length=100)
    weight = percent(_("weight"))
    full_marks = amount(_("full marks"))
    cap_positive = forms.BooleanField(label=_("cap at full marks"), required=False)
    per_person = forms.BooleanField(label=_("lines added per sheet"), required=False)


class LineRow(forms.Form):
    part = forms.CharField(label=_("part code"), required=False, max_length=30,
                           widget=forms.TextInput(attrs={"list": "part-codes"}))
    indicator: forms.ModelChoiceField[Indicator] = ByCode(
        label=_("indicator"), queryset=None, required=False, to_field_name="code", empty_label=CHOOSE)
    max_points = amount(_("full marks"))
    source = forms.ChoiceField(label=_("scored from"), choices=LineSource.choices, initial=LineSource.DATA)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["indicator"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Indicator.objects.filter(is_active=True).order_by("code")


class RaterRow(forms.Form):
    role = forms.ChoiceField(label=_("role"), choices=[("", CHOOSE), *RaterRole.choices], required=False)
    weight = percent(_("weight"))
    group: forms.ModelChoiceField[ReviewGroup] = ByCode(
        label=_("review group"), queryset=None, required=False, to_field_name="code", empty_label=CHOOSE)
    department: forms.ModelChoiceField[Department] = ByCode(
        label=_("department whose head rates"), queryset=None, required=False, to_field_name="code",
        empty_label=CHOOSE)
    missing_counts_as_zero = forms.BooleanField(label=_("missing counts as zero"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, queryset in (("group", ReviewGroup.objects.all()), ("department", Department.objects.all())):
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = queryset


ROWS: dict[str, tuple[type[forms.Form], Any]] = {
    "parts": (PartRow, _("Parts")),
    "lines": (LineRow, _("Lines")),
    "raters": (RaterRow, _("Raters")),
}
_FORMSETS = {prefix: formset_factory(form, extra=0, max_num=MAX_ROWS, validate_max=True)
             for prefix, (form, _title) in ROWS.items()}


@dataclass(frozen=True)
class Total:
    """A running total against what it should be, for the totals panel."""

    label: str
    total: Decimal
    expected: Decimal
    percent: bool

    @property
    def adds_up(self) -> bool:
        return self.total == self.expected

    @property
    def shown(self) -> str:
        return format(self.total.normalize(), "f") + ("%" if self.percent else "")

    @property
    def expected_shown(self) -> str:
        return format(self.expected.normalize(), "f") + ("%" if self.percent else "")


def _filled(data: dict[str, Any]) -> bool:
    return any(value not in (None, "", False) for value in data.values())


def _number(value: Any) -> Decimal | None:
    try:
        return None if value in (None, "") else Decimal(str(value).strip().replace(",", ""))
    except ArithmeticError:
        return None


class TemplateEditor:
    def __init__(self, data: QueryDict | None = None, *, template: Template | None = None, action: str = "") -> None:
        if data is not None and action:
            data = apply_action(data, action)
        self.data = data
        self.problems: list[str] = []
        if data is None:
            header, rows = initial_from(template)
            self.header = TemplateHeaderForm(initial=header)
            self.rows = {prefix: styled(_FORMSETS[prefix](prefix=prefix, initial=rows[prefix])) for prefix in ROWS}
        else:
            self.header = TemplateHeaderForm(data)
            self.rows = {prefix: styled(_FORMSETS[prefix](data, prefix=prefix)) for prefix in ROWS}
            tables = CodeTables()
            for formset in self.rows.values():
                for form in formset.forms:
                    for field in form.fields.values():
                        if isinstance(field, ByCode):
                            field.tables = tables

    def row_sets(self) -> list[tuple[str, Any, BaseFormSet]]:
        return [(prefix, title, self.rows[prefix]) for prefix, (_form, title) in ROWS.items()]

    def part_codes(self) -> list[str]:
        return [code for code in (self._raw("parts", n, "code") for n in range(self.rows["parts"].total_form_count()))
                if code]

    def _raw(self, prefix: str, n: int, name: str) -> str:
        if self.data is None:
            initial = self.rows[prefix].initial or []
            return str(initial[n].get(name) or "") if n < len(initial) else ""
        return str(self.data.get(f"{prefix}-{n}-{name}", "")).strip()

    def totals(self) -> list[Total]:
        """Part weights, each part's lines and rater weights as typed, valid or not."""
        parts, raters, lines = (range(self.rows[p].total_form_count()) for p in ("parts", "raters", "lines"))
        weights = [_number(self._raw("parts", n, "weight")) for n in parts]
        totals = [Total(str(_("Part weights")), sum((w for w in weights if w is not None), Decimal(0)), HUNDRED, True)]
        points: dict[str, Decimal] = {}
        for n in lines:
            code, value = self._raw("lines", n, "part"), _number(self._raw("lines", n, "max_points"))
            points[code] = points.get(code, Decimal(0)) + (value or Decimal(0))
        for n in range(self.rows["parts"].total_form_count()):
            code, full = self._raw("parts", n, "code"), _number(self._raw("parts", n, "full_marks"))
            if code and full is not None and self._raw("parts", n, "per_person") in ("", "False", "false"):
                label = str(_("Lines of part %(part)s") % {"part": code})
                totals.append(Total(label, points.get(code, Decimal(0)), full, False))
        rater_weights = [_number(self._raw("raters", n, "weight")) for n in raters]
        if any(w is not None for w in rater_weights):
            totals.append(Total(str(_("Rater weights")), sum((w for w in rater_weights if w is not None), Decimal(0)),
                                HUNDRED, True))
        return totals

    def spec(self) -> dict[str, Any] | None:
        """The spec build_template takes, or None while a field is wrong (the errors are on it)."""
        valid = self.header.is_valid()
        valid = all([formset.is_valid() for formset in self.rows.values()]) and valid
        if not valid:
            return None
        header = self.header.cleaned_data
        spec: dict[str, Any] = {
            "code": header["code"].strip(), "name": header["name"].strip(), "subject_kind": header["subject_kind"],
            "base_score": number_text(header["base_score"]), "rounding": header["rounding"],
            "position": header["position"].strip(), "team_kind": header["team_kind"], "parts": [], "raters": [],
        }
        if header["unit_share"]:
            spec.update({"unit_share": from_percent(header["unit_share"]), "unit": header["unit"]})
        if header["department_type"] is not None:
            spec["department_type"] = header["department_type"].code
        return self._rows_into(spec)

    def _rows_into(self, spec: dict[str, Any]) -> dict[str, Any] | None:
        """The rows into ``spec``; None when a row lacks what it needs or names no part (said on the row)."""
        parts: dict[str, dict[str, Any]] = {}
        complete = self._required("parts", ("code", "name", "weight"))
        complete = self._required("lines", ("part", "indicator", "max_points")) and complete
        complete = self._required("raters", ("role", "weight")) and complete
        for form in self.rows["parts"].forms:
            row = form.cleaned_data
            if _filled(row):
                part = {"code": (row["code"] or "").strip(), "name": (row["name"] or "").strip(),
                        "weight": from_percent(row["weight"]), "full_marks": number_text(row["full_marks"]) or "100",
                        "cap_positive": row["cap_positive"], "per_person": row["per_person"], "lines": []}
                spec["parts"].append(part)
                parts.setdefault(part["code"], part)
        orphans = False
        for form in self.rows["lines"].forms:
            row = form.cleaned_data
            if not _filled({k: v for k, v in row.items() if k != "source"}):
                continue
            owner = parts.get((row["part"] or "").strip())
            if owner is None:
                form.add_error("part", _("No part above has this code."))
                orphans = True
                continue
            owner["lines"].append({"indicator": row["indicator"].code if row["indicator"] else "",
                                   "max_points": number_text(row["max_points"]), "source": row["source"]})
        for form in self.rows["raters"].forms:
            row = form.cleaned_data
            if _filled(row):
                rater = {"role": row["role"], "weight": from_percent(row["weight"]),
                         "missing_counts_as_zero": row["missing_counts_as_zero"]}
                rater.update({key: row[key].code for key in ("group", "department") if row[key] is not None})
                spec["raters"].append(rater)
        return None if orphans or not complete else spec

    def _required(self, prefix: str, names: tuple[str, ...]) -> bool:
        complete = True
        for form in self.rows[prefix].forms:
            row = form.cleaned_data
            if not _filled({k: v for k, v in row.items() if k != "source"}):
                continue
            for name in names:
                if row.get(name) in (None, ""):
                    form.add_error(name, _("This field is required."))
                    complete = False
        return complete


def initial_from(template: Template | None) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """The editor's fields for a new version of ``template``, or empty ones for a new template."""
    if template is None:
        return {"base_score": "100", "subject_kind": SubjectKind.PERSON, "rounding": Rounding.LINE}, {
            "parts": [{"full_marks": "100", "weight": "100"}], "lines": [{"source": LineSource.DATA}], "raters": []}
    header = {"code": template.code, "name": template.name, "subject_kind": template.subject_kind,
              "base_score": format(template.base_score.normalize(), "f"), "rounding": template.rounding,
              "department_type": template.department_type.code if template.department_type else None,
              "position": template.position, "team_kind": template.team_kind,
              "unit_share": to_percent(template.unit_share) if template.unit_share else None, "unit": template.unit}
    parts, lines = [], []
    for part in template.parts.order_by("sort_order", "pk"):
        parts.append({"code": part.code, "name": part.name, "weight": to_percent(part.weight),
                      "full_marks": format(part.full_marks.normalize(), "f"), "cap_positive": part.cap_positive,
                      "per_person": part.per_person})
        lines += [{"part": part.code, "indicator": line.indicator.code,
                   "max_points": format(line.max_points.normalize(), "f"), "source": line.source}
                  for line in part.lines.select_related("indicator").order_by("sort_order", "pk")]
    raters = [{"role": r.role, "weight": to_percent(r.weight), "group": r.group.code if r.group else None,
               "department": r.department.code if r.department else None,
               "missing_counts_as_zero": r.missing_counts_as_zero}
              for r in template.raters.select_related("group", "department").order_by("pk")]
    return header, {"parts": parts, "lines": lines, "raters": raters}
