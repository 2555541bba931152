"""The shared places the apps fill in their ready(): permission resources, menu entries and the
loaders of an organisation package. The floor below knows nothing of the apps above it."""

from __future__ import annotations

import pytest

from organizations import navigation, packages, permissions
from organizations.navigation import NavItem
from organizations.permissions import HR


def test_it_collects_every_apps_resources() -> None:
    assert {"organization", "indicator", "period", "pay"} <= set(permissions.MATRIX)


def test_it_refuses_a_resource_registered_twice_with_other_rights() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        permissions.register_resources({"period": {"view": frozenset({HR}), "change": frozenset({HR})}})


def test_it_refuses_a_resource_without_both_actions() -> None:
    with pytest.raises(ValueError, match="view and change"):
        permissions.register_resources({"new_thing": {"view": frozenset({HR})}})  # type: ignore[dict-item]
    assert "new_thing" not in permissions.MATRIX


def test_it_orders_the_menu_by_position_across_apps() -> None:
    names = [item.url_name for item in navigation.NAVIGATION]
    assert names.index("home") < names.index("indicators") < names.index("periods") < names.index("pay-runs")
    assert names.index("pay-runs") < names.index("import")


def test_it_refuses_a_menu_entry_registered_twice() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        navigation.register(NavItem("again", "periods", "period", position=1))


def test_it_loads_package_sections_in_floor_order() -> None:
    assert [name for name, _loader in packages.loaders()] == ["organizations", "indicators", "appraisal", "payroll"]
