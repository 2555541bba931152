"""The what-if page (测算): HR picks a closed period and a candidate grading policy and/or pay
policy (any saved version, in use or not) and sees, without anything being saved, each person's
grade and pay before and after (paged), the grade distribution before and after, and the cost per
department; the same as an .xlsx download.

House style (payroll.policy_views): the matrix opens the page ("pay_policy"), the rows named by id
are fetched with get_visible_or_404 before the change right is checked (another organisation's
period or policy is 404 for everyone), and only HR, who writes policies, may test one. The choice
is a GET query (period, grading, pay), so a result can be paged, bookmarked and downloaded.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import Any, cast

from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from appraisal import selectors as appraisal_selectors
from appraisal.models import GradingPolicy, Period
from organizations.access import get_visible_or_404
from organizations.context import TenantContext
from organizations.permissions import require
from organizations.views import tenant_page
from payroll import selectors
from payroll.exports import write_xlsx
from payroll.models import PayPolicy
from payroll.whatif import WhatIfRefused, export, what_if

PEOPLE_PER_PAGE = 50


@dataclass(frozen=True)
class Choice:
    period: Period | None
    grading: GradingPolicy | None
    pay: PayPolicy | None


def _id(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise Http404 from None


def _choice(request: HttpRequest) -> Choice:
    """The period and candidates the query names; an id of another organisation (or none) is 404."""
    period_id, grading_id, pay_id = _id(request, "period"), _id(request, "grading"), _id(request, "pay")
    return Choice(
        get_visible_or_404(selectors.periods_with_results().select_related("grading_policy"), pk=period_id)
        if period_id is not None else None,
        get_visible_or_404(appraisal_selectors.grading_policies(), pk=grading_id) if grading_id is not None else None,
        get_visible_or_404(selectors.pay_policies(), pk=pay_id) if pay_id is not None else None)


@tenant_page("pay_policy")
@require_safe
def what_if_page(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    choice = _choice(request)
    require(tenant, "pay_policy")
    context: dict[str, Any] = {
        "choice": choice,
        "periods": list(selectors.periods_with_results()[:60]),
        "grading_policies": list(appraisal_selectors.grading_policies().order_by("code", "-version")),
        "pay_policies": list(selectors.pay_policies().order_by("code", "-version")),
    }
    if choice.period is not None:
        try:
            result = what_if(choice.period, grading_policy=choice.grading, pay_policy=choice.pay)
        except WhatIfRefused as refused:
            context["refusal"] = str(refused)
        else:
            query = request.GET.copy()
            query.pop("page", None)
            context.update(result=result, query=query.urlencode(), anchor=f"&{query.urlencode()}",
                           page=Paginator(result.people, PEOPLE_PER_PAGE).get_page(request.GET.get("page")))
    return render(request, "payroll/what_if.html", context)


@tenant_page("pay_policy")
@require_safe
def what_if_download(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """The what-if as .xlsx: per person by department, a subtotal per department, the grand total."""
    choice = _choice(request)
    require(tenant, "pay_policy")
    if choice.period is None:
        raise Http404
    try:
        result = what_if(choice.period, grading_policy=choice.grading, pay_policy=choice.pay)
    except WhatIfRefused as refused:
        return HttpResponse(str(refused), status=400, content_type="text/plain; charset=utf-8")
    handle = tempfile.TemporaryFile()
    write_xlsx(export(result), handle)
    handle.seek(0)
    response = FileResponse(handle, as_attachment=True, filename=f"what-if-{choice.period.code}.xlsx")
    return cast(HttpResponse, response)  # streamed; tenant_page's type only knows HttpResponse
