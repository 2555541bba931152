"""Creates an organisation from a scheme of the gallery (fixtures/schemes/<id>/package.json).

    manage.py load_scheme S0-2 --organization plant-2 [--name 某热电厂] [--hr-admin <username>]

Refuses a short code already taken: loading a scheme over an organisation that has its own set-up
would mix the two. ``--list`` prints the gallery.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from organizations.gallery import SchemeRefused, create_from_scheme, schemes
from organizations.models import User
from organizations.package_structure import PackageInvalid


class Command(BaseCommand):
    help = "Create an organisation from a scheme of the gallery (fixtures/schemes/<id>/)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("scheme", nargs="?", help="the scheme's id, e.g. S0-2")
        parser.add_argument("--organization", help="the new organisation's short code (slug)")
        parser.add_argument("--name", default="", help="its name (default: the scheme's title)")
        parser.add_argument("--hr-admin", default="", help="an existing user who becomes its HR admin")
        parser.add_argument("--list", action="store_true", help="list the gallery and stop")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for scheme in schemes():
                self.stdout.write(f"{scheme.id:<6} {scheme.title}")
            return
        if not options["scheme"] or not options["organization"]:
            raise CommandError("Give a scheme id and --organization <slug> (or --list).")
        user = None
        if options["hr_admin"]:
            user = User.objects.filter(username=options["hr_admin"]).first()
            if user is None:
                raise CommandError(f"No user {options['hr_admin']!r}.")
        title = next((s.title for s in schemes() if s.id == options["scheme"]), "")
        try:
            organization = create_from_scheme(scheme_id=options["scheme"], slug=options["organization"],
                                              name=options["name"] or title, acting_user=user)
        except (SchemeRefused, PackageInvalid) as refused:
            raise CommandError(str(refused)) from None
        self.stdout.write(self.style.SUCCESS(f"{organization.name} ({organization.slug}) created from "
                                             f"{options['scheme']}."))
