"""Labour-cost budgets (S1-4 §13.5): what one period's pay of a department may cost, its
sub-departments' people included.

A pay run over a budget is flagged when it is computed (PayRun.over_budget, shown on the run's
page); finance's confirmation looks at the budgets again and is refused over budget unless
finance gives a reason, which is kept on the run and in its history. Everything here is a fixed
number of queries whatever the head count: the budgets, the department tree, the run's cost per
department.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from appraisal.models import Period
from organizations.models import Department, Organization, User
from payroll.models import PayBudget, PayRun, PaySlip

ZERO = Decimal("0.00")


class BudgetRejected(ValueError):
    """A budget refused; ``field`` names the setting that is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@transaction.atomic
def save_pay_budget(*, organization: Organization, acting_user: User | None, period: Period, department: Department,
                    amount: Decimal) -> PayBudget:
    """Sets the labour-cost budget of a department for a period (an upsert, audited). A run already
    computed keeps its flag; finance's confirmation looks at the budgets as they are then."""
    if not amount.is_finite() or amount < 0:
        raise BudgetRejected("amount", _("A budget is an amount of at least 0.00."))
    if period.state == Period.State.DRAFT:
        raise BudgetRejected("period", _("Period %(period)s is a draft.") % {"period": period.code})
    amount = amount.quantize(Decimal("0.01"))
    existing = PayBudget.objects.select_for_update().filter(period=period, department=department).first()
    if existing is not None:
        if existing.amount == amount:
            return existing
        existing.amount = amount
        existing._history_user = acting_user  # type: ignore[attr-defined]
        existing.save(update_fields=["amount"])
        return existing
    budget = PayBudget(organization=organization, period=period, department=department, amount=amount)
    budget._history_user = acting_user  # type: ignore[attr-defined]
    budget.save()
    return budget


def standing(period: Period, costs: Mapping[int, Decimal]) -> list[dict[str, Any]]:
    """Each of the period's budgets with its department's code and name, the budget, the cost of
    the department and all the departments under it (``costs``: pay by the department people
    belong to) and whether it is over; by department code. Two queries (one without budgets)."""
    budgets = dict(PayBudget.objects.filter(period=period).values_list("department_id", "amount"))
    if not budgets:
        return []
    tree = {pk: (parent, code, name) for pk, parent, code, name in
            Department.objects.values_list("pk", "parent_id", "code", "name")}
    spent: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for department_id, cost in costs.items():
        node: int | None = department_id
        seen: set[int] = set()
        while node is not None and node in tree and node not in seen:  # up the tree: each ancestor pays it too
            seen.add(node)
            spent[node] += cost
            node = tree[node][0]
    rows = [{"department": tree[pk][1], "name": tree[pk][2], "budget": format(amount, "f"),
             "cost": format(spent[pk], "f"), "over": spent[pk] > amount}
            for pk, amount in budgets.items() if pk in tree]
    return sorted(rows, key=lambda row: row["department"])


def overruns(period: Period, costs: Mapping[int, Decimal]) -> list[dict[str, str]]:
    """The budgets ``costs`` exceed (:func:`standing`), as PayRun.over_budget keeps them."""
    return [{key: row[key] for key in ("department", "name", "budget", "cost")}
            for row in standing(period, costs) if row["over"]]


def costs_of(pays: Iterable[tuple[int, Decimal]]) -> dict[int, Decimal]:
    """(department id, a person's pay) pairs added up by department, in memory."""
    costs: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for department_id, total in pays:
        costs[department_id] += total
    return costs


def run_costs(run: PayRun) -> dict[int, Decimal]:
    """The run's pay by department (one query)."""
    return {department_id: total or ZERO for department_id, total in
            PaySlip.objects.filter(run=run).order_by().values("department_id").annotate(
                total=Sum("total")).values_list("department_id", "total")}


def describe(over: list[dict[str, Any]]) -> str:
    """"生产部 P: 12,000.00 against a budget of 10,000.00; …" for a refusal or a page."""
    return "; ".join(_("%(name)s (%(code)s): %(cost)s against a budget of %(budget)s")
                     % {"name": row["name"], "code": row["department"], "cost": _money(row["cost"]),
                        "budget": _money(row["budget"])} for row in over)


def _money(value: str) -> str:
    return f"{Decimal(value):,.2f}"


def budget_refusal(run: PayRun, over: list[dict[str, str]], reason: str) -> str:
    """Why finance may not confirm ``run`` (over budget, no reason given), or ""."""
    if not over or reason.strip():
        return ""
    return (_("Pay run version %(version)s is over budget: %(departments)s. Finance may confirm it only with a "
              "reason for paying over budget.") % {"version": run.version, "departments": describe(over)})
