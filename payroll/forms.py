"""Forms of the pay policy and pay input pages.

They check shapes only, the way the API's serializers do (payroll.api.PayPolicyCreateSerializer,
PayInputWriteSerializer): the services (payroll.services.save_pay_policy, save_pay_input) have the
last word, and their refusals (PolicyRejected, InputRejected) are attached to the field they name
with ``attach_rejection``. Choice lists are read per form, inside the request's tenant scope.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from appraisal.models import Period
from indicators.forms import load_json
from indicators.services import plain
from organizations import selectors as org_selectors
from organizations.models import Department, DepartmentType, Person
from payroll.labels import input_label
from payroll.models import PayInput, PayPolicy

INPUT_NAME_LENGTH = 40  # as PayPolicyCreateSerializer.inputs and PayInput.name

# Offered in the components field of a new policy: S1-9's performance pay (a quota by salary band
# × the grade coefficient) and a fixed allowance. tests check that it is a valid policy.
EXAMPLE_COMPONENTS: list[dict[str, Any]] = [
    {"code": "perf", "name": "绩效工资", "kind": "grade_coefficient",
     "config": {"coefficients": {"S": "1.2", "A": "1.1", "B": "1.0", "C": "0.8"},
                "quota_bands": {"input": "base_salary", "to_inclusive": True,
                                "bands": [{"to": "1500", "quota": "200"}, {"to": "2500", "quota": "400"},
                                          {"to": None, "quota": "600"}]}}},
    {"code": "post", "name": "岗位津贴", "kind": "fixed", "config": {"amount": "150"}},
]


def pretty_json(value: Any) -> str:
    """JSON as HR reads and edits it: indented, Chinese left readable."""
    return json.dumps(value, ensure_ascii=False, indent=2)


def _css(form: forms.BaseForm) -> None:
    for field in form.fields.values():
        css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
        field.widget.attrs.setdefault("class", css)


def attach_rejection(form: forms.BaseForm, field: str, message: str) -> None:
    """A service's refusal on the form field it names: "components[0].config.rate" → components,
    with the whole path kept in the message; a name that is no field of the form → the form."""
    top = field.split("[", 1)[0].split(".", 1)[0]
    if top in form.fields:
        form.add_error(top, message if top == field else f"{field}: {message}")
    else:
        form.add_error(None, message)


# --- policies -----------------------------------------------------------------------------------


def parse_names(text: str) -> list[str]:
    """Input names as the API takes them (a list of strings of at most 40 characters), written as a
    JSON list or separated by commas (Chinese commas too). Blank: none."""
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        names = load_json(text)
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise forms.ValidationError(_("Give a JSON list of names, e.g. [\"revenue\", \"trips\"]."))
        names = [name.strip() for name in names]
        if any(not name for name in names):
            raise forms.ValidationError(_("A name may not be blank."))
    else:
        names = [piece.strip() for piece in text.replace("，", ",").split(",") if piece.strip()]
    for name in names:
        if len(name) > INPUT_NAME_LENGTH:
            raise forms.ValidationError(_("%(name)s is longer than %(length)s characters."),
                                        params={"name": name, "length": INPUT_NAME_LENGTH})
    return names


class NamesField(forms.CharField):
    """Input names: comma-separated or a JSON list; cleaned to a list of names."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", _("Comma-separated, e.g. revenue, trips; or a JSON list."))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(str(name) for name in value)
        return value

    def clean(self, value: Any) -> list[str]:  # type: ignore[override]
        return parse_names(str(super().clean(value) or ""))


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class PayPolicyForm(forms.Form):
    """A new policy, or (``base`` given) the next version of ``base``'s policy, pre-filled from it:
    the code is then fixed. The fields are save_pay_policy's arguments."""

    code = forms.CharField(label=_("code"), max_length=30)
    name = forms.CharField(label=_("name"), max_length=100)
    department_type: forms.ModelChoiceField[DepartmentType] = forms.ModelChoiceField(
        label=_("department type"), queryset=None, required=False,
        empty_label=_("Everyone not covered by another policy"),
    )
    effective_from = forms.DateField(label=_("effective from"), widget=DateInput())
    effective_to = forms.DateField(label=_("effective to"), required=False, widget=DateInput(),
                                   help_text=_("Blank: until a later version replaces it."))
    period_kind = forms.ChoiceField(
        label=_("period kind"), required=False, choices=[("", _("Periods of any kind")), *Period.Kind.choices],
        help_text=_("For one department type, a policy of the period's kind wins over one of any kind: a quarterly "
                    "and an annual policy may pay the same people."))
    # Asked the other way round from PayPolicy.requires_grade: an unticked box is not sent, so a
    # form posted without it keeps the safe default (graded people only).
    pays_ungraded = forms.BooleanField(
        label=_("Also pays people without a grade"), required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
        help_text=_("Tick for piece rates and other pay that does not depend on a grade: everyone with a result is "
                    "then paid, graded or not. Unticked, people without a grade are named in the run's notes and "
                    "not paid."))
    components = forms.CharField(
        label=_("components (JSON)"),
        widget=forms.Textarea(attrs={"rows": 22, "class": "form-control font-monospace", "spellcheck": "false"}),
        help_text=_('A JSON list of components: [{"code": …, "name": …, "kind": …, "config": {…}}, …]. '
                    'Numbers are written as strings ("1.2"), never as bare numbers.'),
    )
    inputs = NamesField(label=_("number inputs"))
    text_inputs = NamesField(label=_("text inputs"))

    def __init__(self, *args: Any, base: PayPolicy | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base = base
        department_type = self.fields["department_type"]
        assert isinstance(department_type, forms.ModelChoiceField)
        department_type.queryset = DepartmentType.objects.order_by("code")
        if base is not None:
            self.fields["code"].disabled = True
            self.initial.update({
                "code": base.code, "name": base.name, "department_type": base.department_type_id,
                "effective_from": base.effective_from, "effective_to": base.effective_to,
                "period_kind": base.period_kind, "pays_ungraded": not base.requires_grade,
                "components": pretty_json(base.components), "inputs": list(base.inputs or []),
                "text_inputs": list(base.text_inputs or []),
            })
        else:
            self.initial.setdefault("components", pretty_json(EXAMPLE_COMPONENTS))
            self.initial.setdefault("effective_from", dt.date.today().replace(day=1))
        _css(self)

    def clean_code(self) -> str:
        code = str(self.cleaned_data["code"]).strip()
        if self.base is None and PayPolicy.objects.filter(code=code).exists():
            raise forms.ValidationError(_("A pay policy with the code %(code)s exists already: open it to save a "
                                          "new version."), params={"code": code})
        return code

    def clean_components(self) -> list[dict[str, Any]]:
        components = load_json(self.cleaned_data["components"])
        # As the API: a non-empty list of objects; what each object says is the engine's to check.
        if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
            raise forms.ValidationError(_("The components must be a JSON list of objects: [{…}, …]."))
        if not components:
            raise forms.ValidationError(_("A pay policy needs at least one component."))
        return components

    def values(self) -> dict[str, Any]:
        """The arguments of services.save_pay_policy (besides organisation and user)."""
        data = self.cleaned_data
        values = {key: data[key] for key in ("code", "name", "department_type", "effective_from", "effective_to",
                                             "period_kind", "components", "inputs", "text_inputs")}
        values["requires_grade"] = not data["pays_ungraded"]
        return values


# --- inputs -------------------------------------------------------------------------------------


def name_choices(numbers: Iterable[str], texts: Iterable[str]) -> list[Any]:
    """The select's options: the number inputs, then the text inputs, each group sorted."""
    return [("", pgettext_lazy("empty choice of a select", "Choose")),
            (_("Number inputs"), [(name, input_label(name)) for name in sorted(numbers)]),
            (_("Text inputs"), [(name, input_label(name)) for name in sorted(texts)])]


class PayInputForm(forms.Form):
    """One input of a period for a person (by employee number) or a department. The name is offered
    from what the period's policies declare, but save_pay_input decides: a name no policy reads is
    refused there, with the names it knows. Editing an input (``existing``) changes its value only."""

    person = forms.CharField(label=_("employee number"), max_length=30, required=False,
                             help_text=_("The person the input is for; or choose a department instead."))
    department: forms.ModelChoiceField[Department] = forms.ModelChoiceField(
        label=_("department"), queryset=None, required=False,
        empty_label=pgettext_lazy("empty choice of a select", "Choose"),
    )
    name = forms.CharField(label=_("input"), max_length=INPUT_NAME_LENGTH)
    value = forms.DecimalField(label=_("value"), max_digits=18, decimal_places=4, required=False,
                               help_text=_("For a number input."))
    text = forms.CharField(label=_("text value"), max_length=50, required=False, help_text=_("For a text input."))

    def __init__(self, *args: Any, people: QuerySet[Person], numbers: Iterable[str], texts: Iterable[str],
                 existing: PayInput | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.people = people
        self.fields["name"].widget = forms.Select(choices=name_choices(numbers, texts))
        department = self.fields["department"]
        assert isinstance(department, forms.ModelChoiceField)
        department.queryset = org_selectors.departments().filter(is_active=True).order_by("code")
        if existing is not None:
            for name in ("person", "department", "name"):
                self.fields[name].disabled = True
            self.initial.update({
                "person": existing.person.employee_no if existing.person else "",
                "department": existing.department_id, "name": existing.name,
                "value": plain(existing.value) if existing.value is not None else None,
                "text": existing.text,
            })
        _css(self)

    def clean_person(self) -> Person | None:
        number = str(self.cleaned_data.get("person") or "").strip()
        if not number:
            return None
        person = self.people.filter(employee_no=number).first()
        if person is None:
            raise forms.ValidationError(_("No person has the employee number %(number)s."), params={"number": number})
        return person

    def values(self) -> dict[str, Any]:
        """The arguments of services.save_pay_input (besides organisation, user and period)."""
        data = self.cleaned_data
        return {"person": data["person"], "department": data["department"], "name": data["name"],
                "value": data["value"], "text": data["text"] or ""}


def _departments(request: HttpRequest | None) -> QuerySet[Department]:
    # A callable: the options are read inside the request's tenant scope.
    return org_selectors.departments().filter(is_active=True).order_by("code")


class PayInputFilter(django_filters.FilterSet):
    """A period's inputs by name, by department (its own inputs and its people's) and by person."""

    name = django_filters.ChoiceFilter(label=_("Input"), empty_label=_("All inputs"),
                                       widget=forms.Select(attrs={"class": "form-select"}))
    department = django_filters.ModelChoiceFilter(
        label=_("Department"), queryset=_departments, method="filter_department",
        empty_label=_("All departments"), widget=forms.Select(attrs={"class": "form-select"}),
    )
    q = django_filters.CharFilter(
        label=_("Search"), method="filter_search",
        widget=forms.TextInput(attrs={"placeholder": _("Name or employee number"), "type": "search",
                                      "class": "form-control"}),
    )

    class Meta:
        model = PayInput
        fields = ["name", "department", "q"]

    def __init__(self, *args: Any, names: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["name"].extra["choices"] = [(name, input_label(name)) for name in sorted(set(names))]

    def filter_department(self, queryset: QuerySet[PayInput], name: str,
                          value: Department | None) -> QuerySet[PayInput]:
        if value is None:
            return queryset
        return queryset.filter(Q(department=value) | Q(person__department=value))

    def filter_search(self, queryset: QuerySet[PayInput], name: str, value: str) -> QuerySet[PayInput]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(person__name__icontains=value) | Q(person__employee_no__icontains=value)
                               | Q(department__name__icontains=value) | Q(department__code__icontains=value))


# --- budgets ------------------------------------------------------------------------------------


class PayBudgetForm(forms.Form):
    """A department's labour-cost budget for the period (payroll.budgets.save_pay_budget decides)."""

    department: forms.ModelChoiceField[Department] = forms.ModelChoiceField(label=_("department"), queryset=None)
    amount = forms.DecimalField(label=_("budget"), max_digits=16, decimal_places=2,
                                help_text=_("The department's pay, its sub-departments' people included, to the fen."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        department = self.fields["department"]
        assert isinstance(department, forms.ModelChoiceField)
        department.queryset = org_selectors.departments().filter(is_active=True).order_by("code")
        _css(self)

    def values(self) -> dict[str, Any]:
        return {"department": self.cleaned_data["department"], "amount": self.cleaned_data["amount"]}
