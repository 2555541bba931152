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

from organizations.models import User
from organizations.package_structure import PackageInvalid
from organizations.packages import load_package

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
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Demo sign-ins (http://127.0.0.1:8000/login/):"))
        for username, roles in accounts.items():
            self.stdout.write(f"  {username:<11} password {username + PASSWORD_SUFFIX:<22} {'; '.join(roles)}")


def _roles(account: dict[str, Any]) -> str:
    roles = [label for key, label in [("hr_admin", "HR admin"), ("finance", "finance")] if account.get(key)]
    roles += [f"head of {c}" for c in account.get("heads", [])]
    roles += [f"group {c}" for c in account.get("groups", [])]
    return ", ".join([*roles, "employee"])
