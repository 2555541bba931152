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

from organizations.models import Organization

Loader = Callable[[Organization, Mapping[str, Any]], None]


class _Registered(NamedTuple):
    position: int
    name: str
    loader: Loader


_LOADERS: list[_Registered] = []


def register_loader(name: str, loader: Loader, *, position: int) -> None:
    """``position`` orders the loaders: what a section refers to must be loaded before it."""
    if any(known.name == name for known in _LOADERS):
        raise ValueError(f"package loader {name!r} is registered twice")
    _LOADERS.append(_Registered(position, name, loader))
    _LOADERS.sort()


def loaders() -> list[tuple[str, Loader]]:
    return [(registered.name, registered.loader) for registered in _LOADERS]


def load_sections(organization: Organization, data: Mapping[str, Any]) -> None:
    for _name, loader in loaders():
        loader(organization, data)
