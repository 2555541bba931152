"""Pages of standing parameters (organizations.standing): a person's are listed on their page
(organizations/templatetags/standing.py) with add and end; departments' have a page of their own;
both kinds come by Excel upload with a dry run (organizations.standing_upload).

House style of the set-up pages: the matrix opens a page, a row is fetched with get_visible_or_404
before the change right is checked, every write is a service with the acting user, and a refusal
re-shows the form with the message on the field it names (setup_views.form_page).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from core.web import acting_user
from organizations import selectors, standing_selectors, standing_services
from organizations import standing_upload as upload
from organizations.access import get_visible_or_404
from organizations.context import TenantContext
from organizations.models import Department
from organizations.permissions import can, require
from organizations.setup_forms import DATE
from organizations.setup_views import form_page
from organizations.standing import NAME_LENGTH, StandingParameter
from organizations.views import tenant_page

RESOURCE = "standing_parameter"


class ParameterForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Parameter"), max_length=NAME_LENGTH,
                           help_text=gettext_lazy("Letters, digits and _: the name pay formulas read it by."))
    value = forms.DecimalField(label=gettext_lazy("Value"), max_digits=18, decimal_places=4)
    effective_from = forms.DateField(label=gettext_lazy("Effective from"), widget=DATE,
                                     help_text=gettext_lazy("A value in force on that day ends the day before."))


class DepartmentParameterForm(ParameterForm):
    department: forms.ModelChoiceField[Department] = forms.ModelChoiceField(
        label=gettext_lazy("Department"), queryset=Department.objects.none(), empty_label=gettext_lazy("Choose"))
    field_order = ["department", "name", "value", "effective_from"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = selectors.departments()  # type: ignore[attr-defined]


class EndForm(forms.Form):
    effective_to = forms.DateField(label=gettext_lazy("Last day in force"), widget=DATE)


@tenant_page("person")
@require_http_methods(["GET", "POST"])
def person_parameter_new(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    person = get_visible_or_404(selectors.visible_people(tenant), pk=pk)
    require(tenant, RESOURCE)
    form = ParameterForm(request.POST or None)
    back = reverse("person-detail", args=[person.pk])
    return form_page(
        request, form, title=_("New standing parameter of %(person)s") % {"person": person}, back=back,
        save=lambda: standing_services.set_standing_parameter(
            organization=tenant.organization, acting_user=acting_user(request), person=person, **form.cleaned_data),
        saved=lambda row: _("%(parameter)s saved.") % {"parameter": row}, after=lambda row: back)


@tenant_page(RESOURCE)
@require_http_methods(["GET", "POST"])
def department_parameter_new(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    require(tenant, RESOURCE)
    form = DepartmentParameterForm(request.POST or None)
    back = reverse("department-parameters")
    return form_page(
        request, form, title=_("New department parameter"), back=back,
        save=lambda: standing_services.set_standing_parameter(
            organization=tenant.organization, acting_user=acting_user(request), **form.cleaned_data),
        saved=lambda row: _("%(parameter)s saved.") % {"parameter": row}, after=lambda row: back)


@tenant_page(RESOURCE)
@require_http_methods(["GET", "POST"])
def parameter_end(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    parameter = get_visible_or_404(StandingParameter.objects.select_related("person", "department"), pk=pk)
    require(tenant, RESOURCE)
    form = EndForm(request.POST or None)
    back = (reverse("person-detail", args=[parameter.person_id]) if parameter.person_id is not None
            else reverse("department-parameters"))
    return form_page(
        request, form, title=_("End %(parameter)s") % {"parameter": parameter}, back=back,
        save=lambda: standing_services.end_standing_parameter(
            parameter=parameter, acting_user=acting_user(request), **form.cleaned_data),
        saved=lambda row: _("%(parameter)s ended.") % {"parameter": row}, after=lambda row: back)


@tenant_page(RESOURCE)
@require_safe
def department_parameters(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """Every department's parameters, the value in force and the past ones."""
    rows = list(standing_selectors.of_departments())
    return render(request, "organizations/department_parameters.html", {
        "rows": rows, "may_change": can(tenant, RESOURCE, "change")})


@tenant_page(RESOURCE)
@require_http_methods(["GET", "POST"])
def parameter_upload(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """Standing parameters from a workbook: a dry run lists every problem with its row and column
    and writes nothing; apply writes every row, or nothing if any row has a problem."""
    require(tenant, RESOURCE)
    form = upload.UploadForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form, "errors": [], "summary": None, "applied": False}
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            parsed = upload.parse_standing(form.cleaned_data["file"])
            if form.cleaned_data["action"] == "apply":
                plan = upload.apply_standing(organization=tenant.organization, parsed=parsed,
                                             acting_user=acting_user(request))
                context["applied"] = True
            else:
                plan = upload.validate_standing(parsed=parsed)
            context.update(errors=plan.errors, summary=plan.summary)
        except upload.StandingRejected as rejected:
            context.update(errors=rejected.errors, summary=rejected.summary)
            status = 400
    elif request.method == "POST":
        status = 400
    return render(request, "organizations/standing_upload.html", context, status=status)
