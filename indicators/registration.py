"""What the indicators app adds to the shared places below it: its permission resources and its
menu entries. Called once from IndicatorsConfig.ready()."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from organizations import navigation, permissions
from organizations.navigation import NavItem
from organizations.permissions import EVERYONE, HR


def register() -> None:
    permissions.register_resources({
        # The indicator catalogue (with targets and benchmarks) and the templates: everyone reads, HR keeps.
        "indicator": {"view": EVERYONE, "change": frozenset({HR})},
        "template": {"view": EVERYONE, "change": frozenset({HR})},
    })
    navigation.register(
        NavItem(_("Indicators"), "indicators", "indicator", position=40),
        NavItem(_("Templates"), "templates", "template", position=50),
    )
