"""Navigation by role: each entry names the matrix resource it needs, so menus never show a 403."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from organizations.context import TenantContext
from organizations.permissions import Action, can


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    resource: str
    action: Action = "view"

    @property
    def url(self) -> str:
        return reverse(self.url_name)


NAVIGATION: list[NavItem] = [
    NavItem(_("My work"), "home", "organization"),
    NavItem(_("Departments"), "departments", "department"),
    NavItem(_("People"), "people", "person"),
    NavItem(_("Indicators"), "indicators", "indicator"),
    NavItem(_("Templates"), "templates", "template"),
    NavItem(_("Periods"), "periods", "period"),
    NavItem(_("Sheets"), "sheets", "sheet"),
    NavItem(_("My results"), "my-results", "result"),
    NavItem(_("Appeals"), "appeals", "appeal"),
    NavItem(_("Pay runs"), "pay-runs", "pay"),
    NavItem(_("Pay policies"), "pay-policies", "pay_policy"),
    NavItem(_("My pay slips"), "my-pay-slips", "pay_slip"),
    NavItem(_("Import"), "import", "import", "change"),
    NavItem(_("Members and roles"), "memberships", "membership"),
]


def navigation_for(tenant: TenantContext) -> list[NavItem]:
    return [item for item in NAVIGATION if can(tenant, item.resource, item.action)]
