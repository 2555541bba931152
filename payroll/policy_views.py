"""Pages for pay policies and pay inputs: the policies with their versions, one version's
components, a form for a new policy or the next version of one; a period's inputs (filtered,
paged) and a form to enter or change one input.

House style (payroll.views): the matrix opens a page (403: "pay_policy", "pay_input"), a row is
fetched with get_visible_or_404 before the change right is checked (so another organisation's id
is 404 for everyone), every write is a payroll service with the acting user, and a refusal
(PolicyRejected, InputRejected) re-shows the form with the message on the field it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from appraisal.models import Period
from core.web import acting_user, is_htmx
from indicators.services import plain
from organizations import selectors as org_selectors
from organizations.access import get_visible_or_404
from organizations.context import TenantContext
from organizations.permissions import can, require
from organizations.views import tenant_page
from payroll import selectors, services
from payroll.engine import KINDS, STANDARD_NUMBERS, STANDARD_TEXTS
from payroll.forms import PayInputFilter, PayInputForm, PayPolicyForm, attach_rejection, pretty_json
from payroll.models import PayInput, PayPolicy
from payroll.standard import organisation_names

POLICIES_PER_PAGE = 50
INPUTS_PER_PAGE = 50
PERIODS_IN_SWITCHER = 24
# The keys of a component shown as its own columns; the rest (rounding, places, when, factor,
# signals, pays) is shown as "settings".
SHOWN_KEYS = ("code", "name", "kind", "config")


# --- policies -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyRow:
    policy: PayPolicy
    latest: bool
    components: int


@tenant_page("pay_policy")
@require_safe
def pay_policies(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """Every version of every policy, by code, newest version first: two queries a page."""
    page = Paginator(selectors.pay_policies().order_by("code", "-version"), POLICIES_PER_PAGE).get_page(
        request.GET.get("page"))
    latest = selectors.latest_policy_versions()
    rows = [PolicyRow(policy, latest.get(policy.code) == policy.version, len(policy.components or []))
            for policy in page.object_list]
    return render(request, "payroll/pay_policies.html", {
        "rows": rows, "page": page, "may_change": can(tenant, "pay_policy", "change")})


@dataclass(frozen=True)
class ComponentView:
    code: str
    name: str
    kind: str
    config: str
    settings: str


def _components(policy: PayPolicy) -> list[ComponentView]:
    views = []
    for component in policy.components or []:
        settings = {key: value for key, value in component.items() if key not in SHOWN_KEYS}
        views.append(ComponentView(str(component.get("code", "")), str(component.get("name") or ""),
                                   str(component.get("kind", "")), pretty_json(component.get("config", {})),
                                   pretty_json(settings) if settings else ""))
    return views


@tenant_page("pay_policy")
@require_safe
def pay_policy_detail(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    policy = get_visible_or_404(selectors.pay_policies(), pk=pk)
    versions = list(selectors.policy_versions(policy.code))
    return render(request, "payroll/pay_policy_detail.html", {
        "policy": policy,
        "components": _components(policy),
        "versions": versions,
        "latest": versions[0] if versions else policy,
        "may_change": can(tenant, "pay_policy", "change"),
    })


def _policy_form(request: HttpRequest, tenant: TenantContext, base: PayPolicy | None) -> HttpResponse:
    form = PayPolicyForm(request.POST or None, base=base)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = services.save_pay_policy(organization=tenant.organization, acting_user=acting_user(request),
                                                 **form.values())
            except services.PolicyRejected as rejected:
                attach_rejection(form, rejected.field, rejected.message)
            else:
                messages.success(request, _("Pay policy %(code)s version %(version)s saved.")
                                 % {"code": saved.code, "version": saved.version})
                return redirect("pay-policy-detail", pk=saved.pk)
        status = 400
    names = organisation_names(tenant.organization.pk)
    context = {"form": form, "base": base, "kinds": sorted(KINDS),
               "standard_numbers": [*STANDARD_NUMBERS, *(n for n in names.numbers if n not in STANDARD_NUMBERS)],
               "standard_texts": [*STANDARD_TEXTS, *(n for n in names.texts if n not in STANDARD_TEXTS)]}
    return render(request, "payroll/pay_policy_form.html", context, status=status)


@tenant_page("pay_policy")
@require_http_methods(["GET", "POST"])
def pay_policy_new(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """A new policy: its first version."""
    require(tenant, "pay_policy")
    return _policy_form(request, tenant, None)


@tenant_page("pay_policy")
@require_http_methods(["GET", "POST"])
def pay_policy_new_version(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """The next version of a policy, pre-filled from its latest version (whichever version the
    link came from), so that a change starts from what is in force."""
    policy = get_visible_or_404(selectors.pay_policies(), pk=pk)
    require(tenant, "pay_policy")
    latest = selectors.policy_versions(policy.code).first() or policy
    return _policy_form(request, tenant, latest)


# --- inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputRow:
    input: PayInput
    shown: str  # the text, or the number as people write it (10, not 10.0000)


def _input_rows(entered: list[PayInput]) -> list[InputRow]:
    return [InputRow(row, row.text or (plain(row.value) if row.value is not None else "")) for row in entered]


def _other_periods(period: Period) -> list[Period]:
    return list(selectors.input_periods().exclude(pk=period.pk)[:PERIODS_IN_SWITCHER])


@tenant_page("pay_input")
@require_safe
def pay_inputs_latest(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """The inputs of the newest period past its draft: where inputs are entered while it runs."""
    period = selectors.input_periods().first()
    if period is None:
        messages.info(request, _("No period is open yet: inputs are entered for an open period."))
        return redirect("pay-runs")
    return redirect("pay-inputs", pk=period.pk)


@tenant_page("pay_input")
@require_safe
def pay_inputs(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """A period's inputs, filtered by name, department or person, page by page (htmx swaps the
    table as the filter changes)."""
    period = get_visible_or_404(selectors.input_periods(), pk=pk)
    rows = selectors.inputs_of(period)
    numbers, texts = services.input_names(period)
    entered = set(rows.order_by().values_list("name", flat=True).distinct())
    input_filter = PayInputFilter(request.GET or None, queryset=rows, request=request,
                                  names=entered | numbers | texts)
    shown = input_filter.qs if not input_filter.is_bound or input_filter.is_valid() else rows.none()
    page = Paginator(shown, INPUTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context: dict[str, Any] = {
        "period": period,
        "filter": input_filter,
        "page": page,
        "rows": _input_rows(list(page.object_list)),
        # The page links keep the filter: _pagination.html appends this to ?page=n.
        "anchor": f"&{query.urlencode()}" if query else "",
        "numbers": sorted(numbers),
        "texts": sorted(texts),
        "may_change": can(tenant, "pay_input", "change"),
    }
    if is_htmx(request):
        return render(request, "payroll/_pay_input_table.html", context)
    context["other_periods"] = _other_periods(period)
    return render(request, "payroll/pay_inputs.html", context)


def _input_form(request: HttpRequest, tenant: TenantContext, period: Period,
                existing: PayInput | None) -> HttpResponse:
    numbers, texts = services.input_names(period)
    form = PayInputForm(request.POST or None, people=org_selectors.visible_people(tenant), numbers=numbers,
                        texts=texts, existing=existing)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = services.save_pay_input(organization=tenant.organization, acting_user=acting_user(request),
                                                period=period, **form.values())
            except services.InputRejected as rejected:
                attach_rejection(form, rejected.field, rejected.message)
            else:
                subject = (f"{saved.person.employee_no} {saved.person.name}" if saved.person
                           else f"{saved.department.code} {saved.department.name}" if saved.department else "")
                messages.success(request, _("Input %(name)s of %(subject)s saved.")
                                 % {"name": saved.name, "subject": subject})
                return redirect("pay-inputs", pk=period.pk)
        status = 400
    context = {"form": form, "period": period, "existing": existing, "numbers": sorted(numbers),
               "texts": sorted(texts)}
    return render(request, "payroll/pay_input_form.html", context, status=status)


@tenant_page("pay_input")
@require_http_methods(["GET", "POST"])
def pay_input_new(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """Enter an input of the period (or change one: the same person or department and name is
    the same row)."""
    period = get_visible_or_404(selectors.input_periods(), pk=pk)
    require(tenant, "pay_input")
    return _input_form(request, tenant, period, None)


@tenant_page("pay_input")
@require_http_methods(["GET", "POST"])
def pay_input_edit(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """Change one entered input's value; whom it is for and its name stay."""
    existing = get_visible_or_404(selectors.pay_inputs(), pk=pk)
    require(tenant, "pay_input")
    return _input_form(request, tenant, existing.period, existing)
