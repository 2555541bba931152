"""What the payroll app adds to the shared places below it: its permission resources, its menu
entries and its home cards (with where a pay job's page is). Called once from PayrollConfig.ready()."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from organizations import dashboard, navigation, permissions
from organizations.dashboard import HomeCard
from organizations.models import Job
from organizations.navigation import NavItem
from organizations.permissions import EMP, FIN, HR
from payroll import dashboard as cards
from payroll import notices


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
    register_cards()
    notices.register()  # its events for organizations.notifications


def register_cards() -> None:
    dashboard.register_card(
        HomeCard("finance", "payroll/_card_finance.html", cards.finance_runs, frozenset({FIN}), position=30),
        HomeCard("my-pay", "payroll/_card_my_pay.html", cards.own_latest_slip, frozenset({EMP}), position=45),
    )
    # A pay computation's subject is the period, an export's the pay run.
    dashboard.register_job_link(Job.Kind.PAY_RUN, lambda job: reverse("period-pay-runs", args=[job.subject_id]))
    dashboard.register_job_link(Job.Kind.PAY_EXPORT, lambda job: reverse("pay-run-detail", args=[job.subject_id]))
