"""Issues an API token for a member of an organisation and prints the key once.

Only the key's digest is stored, so a lost key cannot be shown again: issue a new one.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_scopes import scope

from organizations import services
from organizations.models import Membership, Organization


class Command(BaseCommand):
    help = "Issue an API token for USERNAME in the organisation ORG (its short code) and print the key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("org", help="organisation short code (slug)")
        parser.add_argument("username")
        parser.add_argument("--name", default="api", help="what the token is for, e.g. the calling system")

    def handle(self, *args: Any, org: str, username: str, name: str, **options: Any) -> None:
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organisation with short code {org!r}.")
        with scope(organization=organization):
            membership = Membership.objects.filter(user__username=username, is_active=True).first()
            if membership is None:
                raise CommandError(f"{username!r} is not an active member of {organization.name}.")
            _, key = services.create_api_token(membership=membership, name=name, acting_user=None)
        self.stdout.write(key)
