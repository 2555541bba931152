"""What the payroll app adds to the shared places below it: its permission resources and its menu
entries. Called once from PayrollConfig.ready()."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from organizations import navigation, permissions
from organizations.navigation import NavItem
from organizations.permissions import EMP, FIN, HR


def register() -> None:
    permissions.register_resources({
        # Pay runs, their slips, deltas, exports and pay jobs: HR and finance see them, finance computes,
        # confirms and exports. A head sees nothing of pay (their own slip is "pay_slip").
        "pay": {"view": frozenset({HR, FIN}), "change": frozenset({FIN})},
        # Pay policies (components as data): HR writes them, finance reads what it pays by.
        "pay_policy": {"view": frozenset({HR, FIN}), "change": frozenset({HR})},
        # Per-period pay inputs (penalty points, revenue …): HR and finance enter them.
        "pay_input": {"view": frozenset({HR, FIN}), "change": frozenset({HR, FIN})},
        # Pay slips: rows filtered by payroll.selectors.visible_slips (HR and finance all, anyone else
        # their own of confirmed runs). Nobody edits a slip: a change is a new run.
        "pay_slip": {"view": frozenset({HR, FIN, EMP}), "change": frozenset()},
    })
    navigation.register(
        NavItem(_("Pay runs"), "pay-runs", "pay", position=100),
        NavItem(_("Pay policies"), "pay-policies", "pay_policy", position=110),
        NavItem(_("My pay slips"), "my-pay-slips", "pay_slip", position=120),
    )
