"""The payroll app's cards on the home page (organizations.dashboard), read live.

Finance: the pay runs waiting for confirmation (the latest version of a period, still computed and
not superseded: only it may be confirmed; a provisional one waits for calibration first). Everyone
paid: their own latest pay slip of a confirmed run. A fixed number of queries each, whatever the
organisation's size.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from organizations.context import TenantContext
from payroll import selectors
from payroll.models import PayRun

RUNS_SHOWN = 5


def money(value: Decimal) -> str:
    """Money as pages show it: thousands separated, two decimals (26,800.00)."""
    return f"{value:,.2f}"


def runs_to_confirm() -> QuerySet[PayRun]:
    """Computed pay runs no later version of the same period has replaced, and whose period was not
    sent back to calibration since (superseded), newest period first."""
    newer = PayRun.objects.filter(period_id=OuterRef("period_id"), version__gt=OuterRef("version"))
    return (selectors.pay_runs().filter(state=PayRun.State.COMPUTED, superseded_at__isnull=True)
            .exclude(Exists(newer))
            .order_by("-period__start", "-pk"))


def finance_runs(tenant: TenantContext) -> dict[str, Any]:
    """Finance: the pay runs waiting for confirmation, with their totals. Two queries at most."""
    waiting = runs_to_confirm()
    shown = list(waiting[:RUNS_SHOWN])
    count = len(shown) if len(shown) < RUNS_SHOWN else waiting.count()
    return {"runs": [(run, money(run.total)) for run in shown], "count": count}


def own_latest_slip(tenant: TenantContext) -> dict[str, Any]:
    """Anyone paid: their latest pay slip of a confirmed run. One query."""
    slip = selectors.own_slips(tenant).first()
    return {"slip": slip, "total": money(slip.total) if slip is not None else ""}
