"""The page of a period's person outcomes (HR): the rules' outcomes that change a person — salary
grade up or down, unfit, eliminated — listed from publication, each confirmed (the change written to
the person) or declined with a reason once the period is final (appraisal.services.outcomes).

Another organisation's period is a 404; anyone but HR gets 403. A refusal is shown with the
service's message.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from appraisal import selectors
from appraisal.models import Period
from appraisal.services import IllegalTransition, outcomes
from core.web import acting_user
from organizations.access import get_visible_or_404
from organizations.context import TenantContext
from organizations.permissions import require
from organizations.views import tenant_page


def _period(tenant: TenantContext, pk: int) -> Period:
    period = get_visible_or_404(selectors.visible_periods(tenant).select_related("grading_policy"), pk=pk)
    require(tenant, "period", "change")
    require(tenant, "person", "change")
    return period


@tenant_page("period")
@require_safe
def period_outcomes(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    period = _period(tenant, pk)
    rows = [(row, row.proposed(), outcomes.outcome_label(row.outcome)) for row in outcomes.person_outcomes(period)]
    return render(request, "appraisal/outcomes.html", {
        "period": period,
        "rows": rows,
        "listed": period.state in outcomes.LISTED_STATES,
        "may_decide": outcomes.may_decide(period),
        "pending": sum(1 for row, _change, _label in rows if row.state == outcomes.PENDING),
    })


@tenant_page("period")
@require_POST
def outcome_decide(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """Confirms or declines one outcome of result ``pk`` (``rule``, ``answer`` confirm/decline, ``reason``)."""
    result = get_visible_or_404(selectors.visible_results(tenant), pk=pk)
    period = _period(tenant, result.period_id)
    confirm = request.POST.get("answer") == "confirm"
    try:
        outcomes.decide_outcome(result=result, rule=request.POST.get("rule", ""), confirm=confirm,
                                reason=request.POST.get("reason", ""), acting_user=acting_user(request))
    except (outcomes.OutcomeRefused, IllegalTransition) as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("The outcome is confirmed and written to the person.") if confirm
                         else _("The outcome is declined; the person is left as they are."))
    return redirect("period-outcomes", pk=period.pk)
