"""The page of a period's labour-cost budgets (payroll.budgets): each department's budget beside
the cost of the period's latest pay run, and a form for finance to set one.

House style (payroll.policy_views): the matrix opens the page ("pay": HR and finance read, finance
writes), the period is fetched with get_visible_or_404 before the change right is checked, the
write is the service's, and a refusal re-shows the form with the message on the field it names.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.web import acting_user
from organizations.access import get_visible_or_404
from organizations.context import TenantContext
from organizations.permissions import can, require
from organizations.views import tenant_page
from payroll import budgets, selectors
from payroll.forms import PayBudgetForm, attach_rejection
from payroll.models import PayRun


@tenant_page("pay")
@require_http_methods(["GET", "POST"])
def pay_budgets(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """A period's budgets (any period past its draft: set before the close, the run is flagged when
    computed) and the cost of its latest run against each: a fixed number of queries."""
    period = get_visible_or_404(selectors.input_periods(), pk=pk)
    form = PayBudgetForm(request.POST or None)
    status = 200
    if request.method == "POST":
        require(tenant, "pay")
        if form.is_valid():
            try:
                saved = budgets.save_pay_budget(organization=tenant.organization, acting_user=acting_user(request),
                                                period=period, **form.values())
            except budgets.BudgetRejected as rejected:
                attach_rejection(form, rejected.field, rejected.message)
            else:
                messages.success(request, _("The budget of %(department)s is saved.")
                                 % {"department": saved.department.name})
                return redirect("pay-budgets", pk=period.pk)
        status = 400
    latest = PayRun.objects.filter(period=period).order_by("-version").first()
    rows = budgets.standing(period, budgets.run_costs(latest) if latest else {})
    return render(request, "payroll/pay_budgets.html", {
        "period": period, "form": form, "rows": rows, "latest": latest,
        "may_change": can(tenant, "pay", "change")}, status=status)
