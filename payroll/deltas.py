"""Comparing two versions of a pay run: who is paid differently, by component (the delta sheet,
the run page, the API). Kept apart from payroll.services (re-exported there)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from payroll.models import PayRun, PaySlip

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class DeltaRow:
    person_id: int
    department_id: int
    old: Mapping[str, Decimal]
    new: Mapping[str, Decimal]
    old_total: Decimal
    new_total: Decimal

    @property
    def difference(self) -> Decimal:
        return self.new_total - self.old_total

    def change(self, code: str) -> Decimal:
        return self.new.get(code, ZERO) - self.old.get(code, ZERO)


def delta(*, run: PayRun, previous: PayRun | None = None, people: Iterable[int] | None = None) -> list[DeltaRow]:
    """Who is paid differently in ``run`` than in ``previous`` (default: the version before), by
    component: two queries. People only in one of the versions count from zero. ``people``: only
    these (the run page's first rows, payroll.selectors.delta_people)."""
    if previous is None:
        previous = PayRun.objects.filter(period_id=run.period_id, version__lt=run.version).order_by("-version").first()

    def load(which: PayRun | None) -> dict[int, tuple[int, Decimal, dict[str, Decimal]]]:
        if which is None:
            return {}
        slips = PaySlip.objects.filter(run=which)
        if people is not None:
            slips = slips.filter(person_id__in=list(people))
        return {p: (d, t, {code: Decimal(amount) for code, amount in amounts.items()})
                for p, d, t, amounts in slips.values_list("person_id", "department_id", "total", "amounts")}

    old, new = load(previous), load(run)
    rows = []
    for person_id in sorted(old.keys() | new.keys()):
        o = old.get(person_id)
        n = new.get(person_id)
        department = (n or o)[0]  # type: ignore[index]
        row = DeltaRow(person_id, department, o[2] if o else {}, n[2] if n else {}, o[1] if o else ZERO,
                       n[1] if n else ZERO)
        if row.old != row.new or row.old_total != row.new_total:
            rows.append(row)
    return rows
