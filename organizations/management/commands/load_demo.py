"""Loads the demo organisations from fixtures/demo/*.json and prints the demo sign-ins.

``--schemes S0-2,S1-4,S1-10`` also sets up those schemes of the gallery (fixtures/schemes/) as
organisations of their own, each with the demo's HR as its HR admin: what 从方案创建 makes, loaded
through the same package loader (bin/demo asks for three).

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

from organizations import gallery, services
from organizations.models import Membership, Organization, User
from organizations.package_structure import PackageInvalid
from organizations.packages import load_package

DEMO_DIR = Path(settings.BASE_DIR) / "fixtures" / "demo"
PASSWORD_SUFFIX = "-demo-2026"


class Command(BaseCommand):
    help = "Create or refresh the demo organisations and print the demo sign-ins."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--schemes", default="", help="Gallery schemes to set up as organisations too, "
                                                          "comma-separated (S0-2,S1-4,S1-10).")

    def handle(self, *args: Any, **options: Any) -> None:
        files = sorted(DEMO_DIR.glob("*.json"))
        if not files:
            raise CommandError(f"No demo fixtures in {DEMO_DIR}")
        accounts: dict[str, list[str]] = {}
        for path in files:
            data = json.loads(path.read_text(encoding="utf-8"))
            spec = data["organization"]
            with transaction.atomic():
                try:
                    organization = load_package(data, slug=spec["slug"], name=spec["name"])
                except PackageInvalid as invalid:
                    raise CommandError(f"Demo fixture {path.name} is invalid: {invalid}") from None
                for account in data["accounts"]:
                    # The demo's sign-ins are printed, so their passwords are known; a package never carries one.
                    user = User.objects.get(username=account["username"])
                    user.set_password(account["username"] + PASSWORD_SUFFIX)
                    user.save(update_fields=["password"])
                    accounts.setdefault(account["username"], []).append(f"{organization.name}: {_roles(account)}")
            self.stdout.write(f"  {organization.name} ({organization.slug}): loaded from {path.name}")
        for scheme_id in filter(None, (part.strip() for part in options["schemes"].split(","))):
            organization = self.load_scheme(scheme_id)
            accounts.setdefault(SCHEME_HR, []).append(f"{organization.name}: HR admin")
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Demo sign-ins (http://127.0.0.1:8000/login/):"))
        for username, roles in accounts.items():
            self.stdout.write(f"  {username:<11} password {username + PASSWORD_SUFFIX:<22} {'; '.join(roles)}")


    def load_scheme(self, scheme_id: str) -> Organization:
        """The scheme's organisation (slug scheme-<id>), loaded or refreshed, with the demo's HR as
        its HR admin."""
        try:
            data = gallery.package(scheme_id)
        except gallery.SchemeRefused as refused:
            raise CommandError(str(refused)) from None
        title = data["scheme"]["title"]
        with transaction.atomic():
            organization = load_package(data, slug="scheme-" + scheme_id.lower(), name=f"{title}（示范）")
            hr = User.objects.get(username=SCHEME_HR)
            with scope(organization=organization):
                if not Membership.objects.filter(user=hr).exists():
                    services.create_membership(organization=organization, acting_user=None, user=hr,
                                               is_hr_admin=True)
        self.stdout.write(f"  {organization.name} ({organization.slug}): scheme {scheme_id} of the gallery")
        return organization


SCHEME_HR = "hr"  # the demo's HR admin, made by fixtures/demo


def _roles(account: dict[str, Any]) -> str:
    roles = [label for key, label in [("hr_admin", "HR admin"), ("finance", "finance")] if account.get(key)]
    roles += [f"head of {c}" for c in account.get("heads", [])]
    roles += [f"group {c}" for c in account.get("groups", [])]
    return ", ".join([*roles, "employee"])
