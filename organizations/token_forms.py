"""The form that issues an API token (issue #17): what the token is for, and whose membership it
acts as. The choice list is read per form, inside the request's tenant scope, so another
organisation's membership is "not one of the available choices"."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from organizations.models import Membership
from organizations.setup_forms import ChoosePrompt


class MembershipChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """A member named as HR knows them: the person and employee number, else the sign-in."""

    def label_from_instance(self, obj: Membership) -> str:
        # The sign-in alone when there is no person: a user name is shown only on its own (GLOSSARY).
        person = obj.person
        return str(obj.user) if person is None else f"{person.name}（{person.employee_no}）"


class ApiTokenForm(ChoosePrompt, forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100,
                           help_text=_("What the token is for, e.g. the system that calls the API."))
    membership = MembershipChoiceField(
        label=_("Acts as"), queryset=None,
        help_text=_("The token may do exactly what this member's roles allow, in this organization only."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: MembershipChoiceField = self.fields["membership"]  # type: ignore[assignment]
        field.queryset = Membership.objects.select_related("user", "person").filter(
            is_active=True, user__is_active=True).order_by("user__username")

    def clean_name(self) -> str:
        return str(self.cleaned_data["name"]).strip()
