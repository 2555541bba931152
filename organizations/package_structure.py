"""The organisation's own sections of a package: ``department_types`` (code and name; the five
defaults every organisation starts with need not be listed), ``departments`` and ``people`` (the
columns of the Excel import, through the same checks and upsert an HR upload goes through),
``inspecting_departments`` (codes of the departments that record functional checks on others),
``teams``, ``groups``, ``accounts`` and ``calendar_years``. Existing codes are left as they are, so
loading a package twice changes nothing.

An account in a package makes a membership with its roles (HR admin, finance, head of departments,
member of groups). A user created here has no usable password: a package never carries one (the
demo sets its printed passwords itself, organizations.management.commands.load_demo).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from organizations import services, setup_services
from organizations.importing import ImportRejected, ImportRows, apply_import
from organizations.models import (
    CalendarYear,
    Department,
    DepartmentType,
    Membership,
    Organization,
    Person,
    ReviewGroup,
    Team,
    User,
)
from organizations.tasks import enqueue, seed_calendar_year


class PackageInvalid(Exception):
    """A package that cannot be loaded as it is; the message names the section, row and column."""


def load(organization: Organization, data: Mapping[str, Any]) -> None:
    for kind in data.get("department_types", []):
        if not DepartmentType.objects.filter(code=kind["code"]).exists():
            setup_services.create_department_type(organization=organization, acting_user=None, code=kind["code"],
                                                  name=kind["name"], sort_order=kind.get("sort_order", 0))
    if data.get("departments"):
        _apply(organization, ImportRows.from_records(departments=data["departments"]))
    departments = {d.code: d for d in Department.objects.all()}
    for code in data.get("inspecting_departments", []):
        if not departments[code].inspects_others:
            services.update_department(department=departments[code], acting_user=None, inspects_others=True)
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


def _money(value: Any) -> str:
    return "" if value is None else f"{value:.2f}"


def _day(value: Any) -> str:
    return "" if value is None else value.isoformat()


def dump(organization: Organization) -> dict[str, Any]:
    """The organisation's own sections as ``load`` reads them (no accounts: who may sign in is not
    configuration and is never exported)."""
    departments = list(Department.objects.select_related("parent", "department_type").order_by("pk"))
    teams = list(Team.objects.select_related("department").order_by("code"))
    team_codes = {team.pk: team.code for team in teams}
    people = Person.objects.select_related("department", "manager").order_by("employee_no")
    return {
        "department_types": [{"code": t.code, "name": t.name, "sort_order": t.sort_order}
                             for t in DepartmentType.objects.order_by("sort_order", "code")],
        "departments": [{"部门编码": d.code, "部门名称": d.name, "上级部门编码": d.parent.code if d.parent else "",
                         "部门类型": d.department_type.code if d.department_type else ""}
                        for d in _parents_first(departments)],
        "inspecting_departments": [d.code for d in departments if d.inspects_others],
        "teams": [{"code": t.code, "name": t.name, "department": t.department.code, "kind": t.kind} for t in teams],
        "people": [{"工号": p.employee_no, "姓名": p.name, "部门编码": p.department.code,
                    "班组": team_codes.get(p.team_id, "") if p.team_id else "", "岗位": p.position, "职级": p.level,
                    "薪档": p.salary_band, "基本工资": _money(p.base_pay), "入职日期": _day(p.hire_date),
                    "离职日期": _day(p.leave_date), "直接上级工号": p.manager.employee_no if p.manager else "",
                    "状态": p.status} for p in people],
        "groups": [{"code": g.code, "name": g.name, "kind": g.kind} for g in ReviewGroup.objects.order_by("code")],
        "calendar_years": list(CalendarYear.objects.order_by("year").values_list("year", flat=True)),
    }


def _parents_first(departments: list[Department]) -> list[Department]:
    """A department after its parent, as the import needs them when parents are new too."""
    placed: set[int] = set()
    ordered: list[Department] = []
    pending = departments
    while pending:
        ready = [d for d in pending if d.parent_id is None or d.parent_id in placed]
        if not ready:
            return ordered + pending
        ordered += ready
        placed.update(d.pk for d in ready)
        pending = [d for d in pending if d.pk not in placed]
    return ordered
