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
    # Where the entry stands in the menu, across apps: the work of a period first, set-up last.
    position: int = 0

    @property
    def url(self) -> str:
        return reverse(self.url_name)


# Filled by each app in its AppConfig.ready() (register), so this floor needs to know neither the
# URL names nor the resources of the apps above it.
NAVIGATION: list[NavItem] = []


def register(*items: NavItem) -> None:
    for item in items:
        if any(known.url_name == item.url_name for known in NAVIGATION):
            raise ValueError(f"navigation entry {item.url_name!r} is registered twice")
        NAVIGATION.append(item)
    NAVIGATION.sort(key=lambda entry: entry.position)


OWN = (
    NavItem(_("My work"), "home", "organization", position=10),
    NavItem(_("Departments"), "departments", "department", position=20),
    NavItem(_("People"), "people", "person", position=30),
    NavItem(_("Import"), "import", "import", "change", position=130),
    NavItem(_("Members and roles"), "memberships", "membership", position=140),
    # Set-up pages (issue #17): in the menu of those who change them; the lists stay open to their readers.
    NavItem(_("Department types"), "department-types", "department", "change", position=142),
    NavItem(_("Teams and shifts"), "teams", "team", "change", position=144),
    NavItem(_("Review groups"), "review-groups", "review_group", "change", position=146),
    NavItem(_("Working calendar"), "calendar", "calendar", "change", position=148),
    NavItem(_("Department parameters"), "department-parameters", "standing_parameter", "change", position=147),
    # A token is a member's sign-in for other systems: HR's, like the members themselves.
    NavItem(_("API tokens"), "api-tokens", "membership", "change", position=149),
    NavItem(_("New organization from a scheme"), "schemes", "organization", "change", position=150),
)


def navigation_for(tenant: TenantContext) -> list[NavItem]:
    return [item for item in NAVIGATION if can(tenant, item.resource, item.action)]
