"""Forms of the organisation set-up pages (issue #17). Choice lists are read per form, inside the
request's tenant scope; a form checks shape and the obvious mistakes, the services
(organizations.services, organizations.setup_services) write and have the last word.

A ModelForm here is always bound to a copy of the row (``for_edit``): validating writes the
submitted values into its instance, and the service must still see the old ones to know what
changed and to write the audit row.
"""

from __future__ import annotations

import copy
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from organizations import selectors
from organizations.models import (
    CalendarDay,
    Department,
    DepartmentType,
    Membership,
    Person,
    ReviewGroup,
    Team,
)

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
# The years chinesecalendar may know; anything else is refused before it is asked.
FIRST_YEAR, LAST_YEAR = 2004, 2100


def for_edit(instance: Model) -> Model:
    """A copy of ``instance`` for a form to write into, leaving the original as the database has it."""
    return copy.copy(instance)


def changed_values(form: forms.ModelForm) -> dict[str, Any]:  # type: ignore[type-arg]
    """The model fields the user changed, with their cleaned values: what an update service takes."""
    model_fields = set(form._meta.fields or ())
    return {name: form.cleaned_data[name] for name in form.changed_data if name in model_fields}


def attach_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """A service's refusal shown on the field it names, or above the form."""
    if hasattr(error, "error_dict"):
        for name, messages in error.message_dict.items():
            form.add_error(name if name in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)



class ChoosePrompt:
    """A select's empty choice reads 请选择, not Django's "---------" (GLOSSARY.md)."""

    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        for field in self.fields.values():
            prompt = pgettext_lazy("empty choice of a select", "Choose")
            if isinstance(field, forms.ModelChoiceField) and not isinstance(field, forms.ModelMultipleChoiceField) \
                    and field.empty_label is not None:
                field.empty_label = prompt
            elif type(field) in (forms.ChoiceField, forms.TypedChoiceField):
                choices: list[tuple[Any, Any]] = list(cast(Any, field).choices)
                cast(Any, field).choices = [("", prompt) if value == "" else (value, label) for value, label in choices]


class MemberChoiceField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    """Members named as HR knows them: the person and employee number (a member without a person by
    the sign-in)."""

    def label_from_instance(self, obj: Membership) -> str:
        person = obj.person
        who = f"{person.name}（{person.employee_no}）" if person is not None else str(obj.user)
        return who


class UniqueCodeMixin:
    """A code used by another row of the organisation is refused on the field, in the user's words."""

    instance: Model
    cleaned_data: dict[str, Any]

    def clean_code(self) -> str:
        code = str(self.cleaned_data["code"]).strip()
        model = type(self.instance)
        if model.objects.filter(code=code).exclude(pk=self.instance.pk).exists():  # type: ignore[attr-defined]
            raise ValidationError(_("The code %(code)s is already used.") % {"code": code})
        return code


class DepartmentTypeForm(UniqueCodeMixin, forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = DepartmentType
        fields = ["code", "name", "sort_order"]


class TeamForm(ChoosePrompt, UniqueCodeMixin, forms.ModelForm):  # type: ignore[type-arg]
    # Declared, so that no queryset is built at import time (outside any tenant scope); set per form.
    department: forms.ModelChoiceField[Department] = forms.ModelChoiceField(label=_("department"), queryset=None)

    class Meta:
        model = Team
        fields = ["department", "code", "name", "kind", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        department: forms.ModelChoiceField[Department] = self.fields["department"]  # type: ignore[assignment]
        team = cast(Team, self.instance)
        current = team.department_id if team.pk else None
        department.queryset = selectors.departments().filter(Q(is_active=True) | Q(pk=current))


class ReviewGroupForm(ChoosePrompt, UniqueCodeMixin, forms.ModelForm):  # type: ignore[type-arg]
    members: MemberChoiceField = MemberChoiceField(
        label=_("Members"), queryset=None, required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    chairs: MemberChoiceField = MemberChoiceField(
        label=_("Chair"), queryset=None, required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("Chairs must also be members."),
    )

    class Meta:
        model = ReviewGroup
        fields = ["code", "name", "kind"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        group = cast(ReviewGroup, self.instance)
        seats = list(group.members.all()) if group.pk else []
        taken = [seat.membership_id for seat in seats]
        choices = selectors.memberships().filter(Q(is_active=True) | Q(pk__in=taken)).order_by("user__username")
        for name in ("members", "chairs"):
            field: MemberChoiceField = self.fields[name]  # type: ignore[assignment]
            field.queryset = choices
        if group.pk:
            self.initial.setdefault("members", taken)
            self.initial.setdefault("chairs", [seat.membership_id for seat in seats if seat.is_chair])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        members, chairs = set(cleaned.get("members") or []), set(cleaned.get("chairs") or [])
        if chairs - members:
            self.add_error("chairs", _("A chair must also be a member of the group."))
        return cleaned

    def seats(self) -> dict[Membership, bool]:
        chairs = set(self.cleaned_data.get("chairs") or [])
        return {membership: membership in chairs for membership in self.cleaned_data.get("members") or []}




class PersonForm(ChoosePrompt, forms.ModelForm):  # type: ignore[type-arg]
    department: forms.ModelChoiceField[Department] = forms.ModelChoiceField(label=_("department"), queryset=None)
    team: forms.ModelChoiceField[Team] = forms.ModelChoiceField(label=_("team or shift"), queryset=None,
                                                                 required=False)
    manager: forms.ModelChoiceField[Person] = forms.ModelChoiceField(label=_("manager"), queryset=None,
                                                                      required=False)

    class Meta:
        model = Person
        fields = ["employee_no", "name", "department", "team", "position", "level", "salary_band", "salary_grade",
                  "base_pay", "bank_account", "hire_date", "leave_date", "manager", "status"]
        labels = {"name": _("Name")}
        widgets = {"hire_date": DATE, "leave_date": DATE}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = cast(Person, self.instance)
        fields: dict[str, Any] = self.fields
        fields["department"].queryset = selectors.departments().filter(
            Q(is_active=True) | Q(pk=instance.department_id if instance.pk else None))
        fields["team"].queryset = selectors.teams().filter(Q(is_active=True) | Q(pk=instance.team_id))
        fields["manager"].queryset = Person.objects.exclude(pk=instance.pk).exclude(status=Person.Status.LEFT)

    def clean_employee_no(self) -> str:
        employee_no = str(self.cleaned_data["employee_no"]).strip()
        if Person.objects.filter(employee_no=employee_no).exclude(pk=self.instance.pk).exists():
            raise ValidationError(_("The employee number %(no)s is already used.") % {"no": employee_no})
        return employee_no


class _RolesForm(ChoosePrompt, forms.Form):
    person: forms.ModelChoiceField[Person] = forms.ModelChoiceField(label=_("Person"), queryset=None, required=False,
                                    help_text=_("The person record this sign-in is: they are then an employee."))
    is_hr_admin = forms.BooleanField(label=_("HR admin"), required=False)
    is_finance = forms.BooleanField(label=_("Finance"), required=False)
    headed_departments: forms.ModelMultipleChoiceField[Department] = forms.ModelMultipleChoiceField(
        label=_("Head of"), queryset=None, required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, membership: Membership | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.membership = membership
        # A person who already has a sign-in is not offered again (one sign-in per person).
        taken = Membership.objects.filter(person__isnull=False)
        if membership is not None:
            taken = taken.exclude(pk=membership.pk)
        people: forms.ModelChoiceField[Person] = self.fields["person"]  # type: ignore[assignment]
        people.queryset = Person.objects.exclude(pk__in=taken.values("person_id")).order_by("employee_no")
        heads: forms.ModelMultipleChoiceField[Department] = self.fields["headed_departments"]  # type: ignore[assignment]
        heads.queryset = selectors.departments().filter(is_active=True)


class MemberForm(_RolesForm):
    """A new member: a sign-in (new, or one that already exists in another organisation) and its roles."""

    username = forms.CharField(label=_("User name"), max_length=150)
    display_name = forms.CharField(label=_("display name"), max_length=100, required=False)
    password = forms.CharField(
        label=_("Initial password"), required=False, widget=forms.PasswordInput(render_value=False),
        help_text=_("Needed only for a new sign-in; an existing one keeps its password."),
    )
    field_order = ["username", "display_name", "password", "person", "is_hr_admin", "is_finance",
                   "headed_departments"]


class MemberEditForm(_RolesForm):
    is_active = forms.BooleanField(label=_("active"), required=False,
                                   help_text=_("An inactive member can no longer sign in to this organization."))

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {
            "person": membership.person_id, "is_hr_admin": membership.is_hr_admin,
            "is_finance": membership.is_finance, "is_active": membership.is_active,
            "headed_departments": [head.department_id for head in membership.headships.all()],
        })
        super().__init__(*args, membership=membership, **kwargs)

    def changes(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in ("person", "is_hr_admin", "is_finance", "is_active")}


class CalendarDayForm(ChoosePrompt, forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = CalendarDay
        fields = ["date", "kind", "name"]
        widgets = {"date": DATE}


class CalendarFillForm(forms.Form):
    year = forms.IntegerField(label=_("year"), min_value=FIRST_YEAR, max_value=LAST_YEAR)
