"""An organisation's set-up as data (the demo fixtures): each app loads the sections it owns.

``load_demo`` reads a package (departments, people, accounts, … indicators, templates, policies,
periods) and hands it to every registered loader in floor order; an app registers its loader in
its AppConfig.ready(), so this floor never imports the apps above it. A loader creates what is
missing through the same services HR's pages and the API use, and leaves existing codes alone, so
loading a package twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from django.db import transaction
from django_scopes import scope

from organizations import services
from organizations.models import Organization

Loader = Callable[[Organization, Mapping[str, Any]], None]
Dumper = Callable[[Organization], dict[str, Any]]


class _Registered(NamedTuple):
    position: int
    name: str
    loader: Loader
    dumper: Dumper | None


_LOADERS: list[_Registered] = []


def register_loader(name: str, loader: Loader, *, position: int, dumper: Dumper | None = None) -> None:
    """``position`` orders the loaders: what a section refers to must be loaded before it.
    ``dumper`` writes the app's sections back from an organisation, as ``loader`` reads them."""
    if any(known.name == name for known in _LOADERS):
        raise ValueError(f"package loader {name!r} is registered twice")
    _LOADERS.append(_Registered(position, name, loader, dumper))
    _LOADERS.sort(key=lambda registered: (registered.position, registered.name))


def loaders() -> list[tuple[str, Loader]]:
    return [(registered.name, registered.loader) for registered in _LOADERS]


def export_package(organization: Organization) -> dict[str, Any]:
    """The organisation's configuration as a package that load_package makes again: structure,
    indicators, templates and policies; never accounts, periods, scores or pay."""
    data: dict[str, Any] = {"organization": {"slug": organization.slug, "name": organization.name}}
    with scope(organization=organization):
        for registered in _LOADERS:
            if registered.dumper is not None:
                data.update(registered.dumper(organization))
    return data


def load_sections(organization: Organization, data: Mapping[str, Any]) -> None:
    for _name, loader in loaders():
        loader(organization, data)


def load_package(data: Mapping[str, Any], *, slug: str, name: str) -> Organization:
    """The organisation ``slug`` (made with ``name`` when it does not exist) with every section of the
    package loaded, all or nothing: a package that fails half way leaves nothing behind."""
    with transaction.atomic():
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            organization = services.create_organization(name=name, slug=slug, acting_user=None)
        with scope(organization=organization):
            load_sections(organization, data)
    return organization
