"""The organisation's own sections of a package: ``departments`` and ``people`` (the columns of the
Excel import, through the same checks and upsert an HR upload goes through), ``teams``, ``groups``,
``accounts`` and ``calendar_years``. Existing codes are left as they are, so loading a package twice
changes nothing.

An account in a package makes a membership with its roles (HR admin, finance, head of departments,
member of groups). A user created here has no usable password: a package never carries one (the
demo sets its printed passwords itself, organizations.management.commands.load_demo).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from organizations import services
from organizations.importing import ImportRejected, ImportRows, apply_import
from organizations.models import Department, Membership, Organization, Person, ReviewGroup, Team, User
from organizations.tasks import enqueue, seed_calendar_year


class PackageInvalid(Exception):
    """A package that cannot be loaded as it is; the message names the section, row and column."""


def load(organization: Organization, data: Mapping[str, Any]) -> None:
    if data.get("departments"):
        _apply(organization, ImportRows.from_records(departments=data["departments"]))
    departments = {d.code: d for d in Department.objects.all()}
    for team in data.get("teams", []):
        if not Team.objects.filter(code=team["code"]).exists():
            services.create_team(organization=organization, acting_user=None, code=team["code"],
                                 department=departments[team["department"]], name=team["name"], kind=team["kind"])
    if data.get("people"):
        _apply(organization, ImportRows.from_records(people=data["people"]))
    groups = {}
    for group in data.get("groups", []):
        groups[group["code"]], _created = ReviewGroup.objects.get_or_create(
            organization=organization, code=group["code"], defaults={"name": group["name"], "kind": group["kind"]})
    for account in data.get("accounts", []):
        _account(organization, account, departments, groups)
    for year in data.get("calendar_years", []):
        # Through the task, as production does (eager without a broker).
        enqueue(seed_calendar_year, organization_id=organization.pk, year=year)


def _apply(organization: Organization, rows: ImportRows) -> None:
    try:
        apply_import(organization=organization, parsed=rows, acting_user=None)
    except ImportRejected as rejected:
        problems = "；".join(_("%(sheet)s row %(row)s, column %(column)s: %(message)s")
                            % {"sheet": e.sheet, "row": e.row, "column": e.column, "message": e.message}
                            for e in rejected.errors)
        raise PackageInvalid(problems) from None


def _account(organization: Organization, account: Mapping[str, Any],
             departments: Mapping[str, Department], groups: Mapping[str, ReviewGroup]) -> Membership:
    username = account["username"]
    person = Person.objects.get(employee_no=account["person"])
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, display_name=person.name)
        user.set_unusable_password()
        user.save()
    membership = Membership.objects.filter(user=user).first()
    flags = {"is_hr_admin": account.get("hr_admin", False), "is_finance": account.get("finance", False)}
    if membership is None:
        membership = services.create_membership(organization=organization, acting_user=None, user=user,
                                                person=person, **flags)
    else:
        services.update_membership(membership=membership, acting_user=None, person=person, **flags)
    services.set_headed_departments(membership=membership, acting_user=None,
                                    departments=[departments[c] for c in account.get("heads", [])])
    for code in account.get("groups", []):
        services.add_group_member(group=groups[code], membership=membership, acting_user=None)
    return membership
