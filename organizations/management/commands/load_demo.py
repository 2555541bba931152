"""Loads the demo organisations from fixtures/demo/*.json and prints the demo sign-ins.

Idempotent: run it again and it updates in place (the people go through the same Excel-import
checks and upsert an HR upload does), and resets the demo passwords to the printed ones.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_scopes import scope

from organizations import services
from organizations.importing import ImportRejected, ImportRows, apply_import
from organizations.models import Department, Membership, Organization, Person, ReviewGroup, Team, User
from organizations.packages import load_sections
from organizations.tasks import enqueue, seed_calendar_year

DEMO_DIR = Path(settings.BASE_DIR) / "fixtures" / "demo"
PASSWORD_SUFFIX = "-demo-2026"


class Command(BaseCommand):
    help = "Create or refresh the demo organisations and print the demo sign-ins."

    def handle(self, *args: Any, **options: Any) -> None:
        files = sorted(DEMO_DIR.glob("*.json"))
        if not files:
            raise CommandError(f"No demo fixtures in {DEMO_DIR}")
        accounts: dict[str, list[str]] = {}
        for path in files:
            data = json.loads(path.read_text(encoding="utf-8"))
            organization = self._load(data, accounts)
            self.stdout.write(f"  {organization.name} ({organization.slug}): loaded from {path.name}")
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Demo sign-ins (http://127.0.0.1:8000/login/):"))
        for username, roles in accounts.items():
            self.stdout.write(f"  {username:<11} password {username + PASSWORD_SUFFIX:<22} {'; '.join(roles)}")

    @transaction.atomic
    def _load(self, data: dict[str, Any], accounts: dict[str, list[str]]) -> Organization:
        spec = data["organization"]
        organization = Organization.objects.filter(slug=spec["slug"]).first()
        if organization is None:
            organization = services.create_organization(name=spec["name"], slug=spec["slug"], acting_user=None)
        with scope(organization=organization):
            self._apply(organization, ImportRows.from_records(departments=data["departments"]))
            departments = {d.code: d for d in Department.objects.all()}
            for team in data["teams"]:
                if not Team.objects.filter(code=team["code"]).exists():
                    services.create_team(
                        organization=organization, acting_user=None, department=departments[team["department"]],
                        code=team["code"], name=team["name"], kind=team["kind"],
                    )
            self._apply(organization, ImportRows.from_records(people=data["people"]))
            groups = {}
            for group in data["groups"]:
                groups[group["code"]], _ = ReviewGroup.objects.get_or_create(
                    organization=organization, code=group["code"],
                    defaults={"name": group["name"], "kind": group["kind"]},
                )
            for account in data["accounts"]:
                roles = self._account(organization, account, departments, groups)
                accounts.setdefault(account["username"], []).append(f"{organization.name}: {roles}")
            # Indicators, templates, policies and periods: each app loads its own sections.
            load_sections(organization, data)
            for year in data["calendar_years"]:
                # Through the task, as production does; eager on the demo's SQLite set-up.
                enqueue(seed_calendar_year, organization_id=organization.pk, year=year)
        return organization

    def _apply(self, organization: Organization, rows: ImportRows) -> None:
        try:
            apply_import(organization=organization, parsed=rows, acting_user=None)
        except ImportRejected as rejected:
            problems = "; ".join(f"{e.sheet} row {e.row} {e.column}: {e.message}" for e in rejected.errors)
            raise CommandError(f"Demo fixture for {organization.slug} is invalid: {problems}") from None

    def _account(self, organization: Organization, account: dict[str, Any],
                 departments: dict[str, Department], groups: dict[str, ReviewGroup]) -> str:
        username = account["username"]
        person = Person.objects.get(employee_no=account["person"])
        user = User.objects.filter(username=username).first() or User(username=username)
        user.display_name = person.name
        user.set_password(username + PASSWORD_SUFFIX)
        user.save()
        membership = Membership.objects.filter(user=user).first()
        flags = {"is_hr_admin": account.get("hr_admin", False), "is_finance": account.get("finance", False)}
        if membership is None:
            membership = services.create_membership(
                organization=organization, acting_user=None, user=user, person=person, **flags
            )
        else:
            services.update_membership(membership=membership, acting_user=None, person=person, **flags)
        services.set_headed_departments(
            membership=membership, departments=[departments[c] for c in account.get("heads", [])], acting_user=None
        )
        for code in account.get("groups", []):
            services.add_group_member(group=groups[code], membership=membership, acting_user=None)
        roles = [label for key, label in [("hr_admin", "HR admin"), ("finance", "finance")] if account.get(key)]
        roles += [f"head of {c}" for c in account.get("heads", [])]
        roles += [f"group {c}" for c in account.get("groups", [])]
        return ", ".join([*roles, "employee"])
