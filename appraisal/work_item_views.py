"""Pages for what one sheet has beyond its template: work items added to it alone (S0-1: each
person's own items with targets, in a per-person part) and the acceptance rounds of pass/fail
lines (验收: failed with the reason, sent back for remediation, inspected again).

House style (appraisal.views): the selectors decide which sheets a user sees (another's is a 404),
appraisal.permissions who may change this one (HR, or the head of the subject's department, while
the period takes data: 403 otherwise), and the services in appraisal.services.entry do the audited
writes with the acting user. The forms post normally and come back to the sheet with a message.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from appraisal import permissions, selectors, services
from appraisal.models import Sheet, SheetLine
from core.web import acting_user
from indicators.models import Indicator, TemplatePart
from organizations.access import get_visible_or_404
from organizations.context import TenantContext
from organizations.permissions import can
from organizations.views import tenant_page


def _css(form: forms.BaseForm) -> None:
    for field in form.fields.values():
        field.widget.attrs.setdefault("class", "form-select" if isinstance(field.widget, forms.Select)
                                      else "form-control")


class AddLineForm(forms.Form):
    indicator: forms.ModelChoiceField[Indicator] = forms.ModelChoiceField(
        label=gettext_lazy("Indicator"), queryset=None,
        help_text=gettext_lazy("From the catalogue: how the work item is scored (e.g. pass/fail acceptance)."))
    label = forms.CharField(label=gettext_lazy("Work item"), max_length=200, required=False,
                            help_text=gettext_lazy("Its name; blank: the indicator's."))
    max_points = forms.DecimalField(label=gettext_lazy("Full marks"), max_digits=9, decimal_places=2,
                                    min_value=0.01)  # type: ignore[arg-type]
    target = forms.DecimalField(label=gettext_lazy("Target"), max_digits=18, decimal_places=4, required=False,
                                help_text=gettext_lazy("Blank: the benchmark or baseline, if there is one."))
    part = forms.ChoiceField(label=gettext_lazy("Part"))
    reason = forms.CharField(label=gettext_lazy("Reason (kept in the audit trail)"), max_length=100, required=False)

    def __init__(self, *args: Any, parts: list[TemplatePart], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        indicator = self.fields["indicator"]
        assert isinstance(indicator, forms.ModelChoiceField)
        indicator.queryset = Indicator.objects.filter(is_active=True).order_by("code")
        part = self.fields["part"]
        assert isinstance(part, forms.ChoiceField)
        part.choices = [(p.code, p.name) for p in parts]
        _css(self)

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"indicator": data["indicator"], "label": data["label"], "max_points": data["max_points"],
                "target": data["target"], "part_code": data["part"], "reason": data["reason"]}


class AcceptanceForm(forms.Form):
    passed = forms.TypedChoiceField(
        label=gettext_lazy("Result"), coerce=lambda value: value == "yes",
        choices=[("yes", gettext_lazy("passed")), ("no", gettext_lazy("failed: back for remediation"))])
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=1000, required=False,
                             help_text=gettext_lazy("Why it failed: what is to be remediated."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _css(self)


def _editable_sheet(tenant: TenantContext, pk: int) -> Sheet:
    sheet = get_visible_or_404(selectors.visible_sheets(tenant).select_related(
        "period", "template", "person", "team", "department"), pk=pk)
    if not (permissions.may_edit_data(tenant, sheet) and can(tenant, "sheet", "change")):
        raise PermissionDenied
    return sheet


def _editable_line(tenant: TenantContext, pk: int) -> SheetLine:
    line = get_visible_or_404(selectors.visible_lines(tenant).select_related("sheet__period", "indicator"), pk=pk)
    if not (permissions.may_edit_data(tenant, line.sheet) and can(tenant, "sheet", "change")):
        raise PermissionDenied
    return line


@tenant_page("sheet")
@require_http_methods(["GET", "POST"])
def sheet_add_line(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """HR or the head adds a work item from the catalogue to this sheet alone, with its full marks
    and target, in a per-person part of the sheet's template."""
    sheet = _editable_sheet(tenant, pk)
    parts = list(TemplatePart.objects.filter(template_id=sheet.template_id, per_person=True).order_by("sort_order"))
    form = AddLineForm(request.POST or None, parts=parts, initial={"part": request.GET.get("part", "")})
    if request.method == "POST" and form.is_valid():
        try:
            line = services.add_sheet_line(sheet_id=sheet.pk, acting_user=acting_user(request), **form.values())
        except (services.IllegalTransition, ValueError) as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, _("%(item)s added to the sheet of %(subject)s.")
                             % {"item": line.label or line.indicator.name, "subject": sheet.subject_label})
            return redirect(reverse("sheet-detail", args=[sheet.pk]) + f"#line-{line.pk}")
    added = SheetLine.objects.filter(sheet=sheet, template_line__isnull=True).select_related("indicator")
    context = {"sheet": sheet, "form": form, "parts": parts, "added": list(added)}
    return render(request, "appraisal/sheet_add_line.html", context, status=400 if form.errors else 200)


@tenant_page("sheet")
@require_POST
def line_remove(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """Takes a work item added to one sheet off it again (the template's lines stay)."""
    line = _editable_line(tenant, pk)
    try:
        services.remove_sheet_line(line_id=line.pk, acting_user=acting_user(request),
                                   reason=request.POST.get("reason", "")[:100])
    except (services.IllegalTransition, ValueError) as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("%(item)s removed from the sheet.") % {"item": line.label or line.indicator.name})
    return redirect(reverse("sheet-detail", args=[line.sheet_id]) + f"#part-{line.part_code}")


@tenant_page("sheet")
@require_POST
def line_acceptance(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """Records the next acceptance round of a pass/fail line: passed, or failed with the reason."""
    line = _editable_line(tenant, pk)
    form = AcceptanceForm(request.POST)
    if not form.is_valid():
        for problems in form.errors.values():
            for problem in problems:
                messages.error(request, str(problem))
    else:
        try:
            round_ = services.record_acceptance(line_id=line.pk, passed=form.cleaned_data["passed"],
                                                reason=form.cleaned_data["reason"], acting_user=acting_user(request))
        except (services.IllegalTransition, ValueError) as refused:
            messages.error(request, str(refused))
        else:
            messages.success(request, _("Acceptance round %(round)s recorded.") % {"round": round_.number})
    return redirect(reverse("sheet-detail", args=[line.sheet_id]) + f"#line-{line.pk}")
