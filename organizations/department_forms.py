"""The form of a department (issue #17): code, name, its place in the tree, its type, and whether it
is a functional-check department. Choice lists are read per form inside the request's tenant
scope; the service (organizations.services.create_department / update_department) writes and the
model's ``clean`` has the last word on the tree.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from organizations import selectors
from organizations.models import Department, DepartmentType
from organizations.setup_forms import ChoosePrompt, UniqueCodeMixin

# The same words as Department.clean, so the page says the same thing whichever check refuses first.
CYCLE_MESSAGE = _("A department cannot be placed under itself or its own sub-department.")


def subtree_ids(department: Department) -> set[int]:
    """The department and everything below it, from one query of (id, parent) pairs: the parents a
    department may not be moved under."""
    children: dict[int | None, list[int]] = {}
    for pk, parent_id in Department.objects.values_list("pk", "parent_id"):
        children.setdefault(parent_id, []).append(pk)
    found: set[int] = set()
    waiting = [department.pk]
    while waiting:
        pk = waiting.pop()
        if pk in found:  # a cycle already in the data: stop rather than loop
            continue
        found.add(pk)
        waiting.extend(children.get(pk, []))
    return found


class DepartmentForm(ChoosePrompt, UniqueCodeMixin, forms.ModelForm):  # type: ignore[type-arg]
    # Declared, so that no queryset is built at import time (outside any tenant scope); set per form.
    parent: forms.ModelChoiceField[Department] = forms.ModelChoiceField(
        label=_("parent department"), queryset=None, required=False,
        help_text=_("Leave empty for a top-level department."),
    )
    department_type: forms.ModelChoiceField[DepartmentType] = forms.ModelChoiceField(
        label=_("department type"), queryset=None, required=False,
    )

    class Meta:
        model = Department
        fields = ["code", "name", "parent", "department_type", "inspects_others", "sort_order", "is_active"]
        help_texts = {"inspects_others": _("Its members record deductions and bonuses on other departments' "
                                           "sheets (functional checks: safety, quality …).")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        department = cast(Department, self.instance)
        fields: dict[str, Any] = self.fields
        # Every department stays a choice, the department itself and its sub-departments too: picking
        # one of them is refused on the field with words, where a missing choice would only say
        # "not one of the available choices".
        fields["parent"].queryset = selectors.departments().filter(Q(is_active=True) | Q(pk=department.parent_id))
        fields["department_type"].queryset = DepartmentType.objects.all()
        if department.pk is None:
            del fields["is_active"]  # a new department is active

    def clean_parent(self) -> Department | None:
        parent: Department | None = self.cleaned_data.get("parent")
        department = cast(Department, self.instance)
        if parent is not None and department.pk is not None and parent.pk in subtree_ids(department):
            raise ValidationError(CYCLE_MESSAGE)
        return parent

    def values(self) -> dict[str, Any]:
        """What the create service takes."""
        return {name: self.cleaned_data[name] for name in self._meta.fields or () if name in self.cleaned_data}
