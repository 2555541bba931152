"""Who may do what on one score sheet: the per-object rules behind the matrix's "sheet" resource.

The matrix (organizations.permissions) says which roles may touch sheets at all, and
appraisal.selectors.visible_sheets which sheets a user sees. On a sheet they see:

* data (actuals, targets, inputs, recorded deductions and bonuses): HR, and the head of the
  subject's department but never on their own sheet (appraisal.selectors.may_enter_data, the rule
  the API uses too);
* ratings: only through the user's own rater on that sheet, and not when recused;
* nothing at all once the period has left the open states (closed, published, final).

The pages and the API ask these functions; no view restates a rule.
"""

from __future__ import annotations

from collections.abc import Iterable

from appraisal.actuals import OPEN_STATES
from appraisal.models import Period, Rater, Sheet
from appraisal.selectors import may_enter_data, may_record
from organizations.context import TenantContext

__all__ = ["may_add_record", "may_edit_data", "may_enter_data", "may_rate", "own_raters", "period_is_open"]


def period_is_open(period: Period) -> bool:
    """Figures change only while the period runs: not in a draft, not once closed."""
    return period.state in OPEN_STATES


def own_raters(tenant: TenantContext, raters: Iterable[Rater]) -> list[Rater]:
    """The user's own raters among a sheet's (one per role they rate it in), recused ones included."""
    person_id = tenant.person_id
    if person_id is None:
        return []
    return [rater for rater in raters if rater.person_id == person_id]


def may_rate(tenant: TenantContext, rater: Rater) -> bool:
    return tenant.person_id is not None and rater.person_id == tenant.person_id and not rater.recused


def may_edit_data(tenant: TenantContext, sheet: Sheet) -> bool:
    """may_enter_data, and the period still open."""
    return period_is_open(sheet.period) and may_enter_data(tenant, sheet)


def may_add_record(tenant: TenantContext, sheet: Sheet) -> bool:
    """may_record, and the period still open."""
    return period_is_open(sheet.period) and may_record(tenant, sheet)
