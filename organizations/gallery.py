"""The scheme gallery (issue #12): the fifteen seed schemes, each shipped as a package under
fixtures/schemes/<id>/package.json, and a new organisation made from one of them.

A package read from the gallery never brings accounts (a package's account would attach an existing
user of the same name, perhaps of another organisation, to the new one) nor periods (HR opens its own
first period): the person who creates the organisation becomes its HR admin and invites the rest.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django_scopes import scope

from organizations import services
from organizations.models import Organization, User
from organizations.packages import load_package

GALLERY_DIR = Path(settings.BASE_DIR) / "fixtures" / "schemes"
LEFT_OUT = ("accounts", "periods")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$")


class SchemeRefused(Exception):
    """The organisation cannot be made as asked; the message says why (in the user's language)."""


@dataclass(frozen=True)
class Scheme:
    id: str
    title: str
    summary: str
    source: str
    departments: int
    indicators: int
    templates: int
    pay_policies: int

    @property
    def anchor(self) -> str:
        return "scheme-" + self.id.lower()


@cache
def _read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _sort_key(scheme_id: str) -> tuple[int, int]:
    source, number = scheme_id[1:].split("-")
    return int(source), int(number)


def schemes() -> list[Scheme]:
    """Every scheme of the gallery in the articles' order (S0-1 … S0-5, S1-1 … S1-10)."""
    found = []
    for path in GALLERY_DIR.glob("*/package.json"):
        data = _read(path)
        head = data["scheme"]
        found.append(Scheme(
            id=head["id"], title=head["title"], summary=head["summary"], source=head.get("source", ""),
            departments=len(data.get("departments", [])), indicators=len(data.get("indicators", [])),
            templates=len(data.get("templates", [])), pay_policies=len(data.get("pay_policies", [])),
        ))
    return sorted(found, key=lambda scheme: _sort_key(scheme.id))


def package(scheme_id: str) -> dict[str, Any]:
    """The scheme's package as the gallery loads it (without accounts and periods)."""
    path = GALLERY_DIR / scheme_id / "package.json"
    if not re.fullmatch(r"S\d-\d{1,2}", scheme_id) or not path.is_file():
        raise SchemeRefused(_("There is no scheme %(id)s in the gallery.") % {"id": scheme_id})
    return {key: value for key, value in _read(path).items() if key not in LEFT_OUT}


def create_from_scheme(*, scheme_id: str, name: str, slug: str, acting_user: User | None) -> Organization:
    """A new organisation set up as the scheme's package says; ``acting_user`` (when given) becomes
    its HR admin. All or nothing: a refused or failed load leaves no organisation behind."""
    data = package(scheme_id)
    name = name.strip()
    if not name:
        raise SchemeRefused(_("Give the new organization a name."))
    if not SLUG.fullmatch(slug):
        raise SchemeRefused(_("The short code must be 3 to 50 lowercase letters, digits or hyphens, "
                              "starting and ending with a letter or digit."))
    if Organization.objects.filter(slug=slug).exists():
        raise SchemeRefused(_("The short code %(slug)s is taken; choose another.") % {"slug": slug})
    with transaction.atomic():
        organization = load_package(data, slug=slug, name=name)
        if acting_user is not None:
            with scope(organization=organization):
                services.create_membership(organization=organization, acting_user=acting_user, user=acting_user,
                                           is_hr_admin=True)
    return organization
