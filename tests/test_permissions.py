"""The permission matrix, restated as a table a reviewer can read: changing who may do what means
changing this table too, on purpose."""

from types import SimpleNamespace

import pytest

from organizations.permissions import MATRIX, can
from organizations.roles import Role

H, D, F, E, G = Role.HR_ADMIN, Role.DEPARTMENT_HEAD, Role.FINANCE, Role.EMPLOYEE, Role.GROUP_MEMBER
ALL = {H, D, F, E, G}

EXPECTED = {
    # resource:     (who may view,   who may change)
    "organization": (ALL, {H}),
    "department": (ALL, {H}),
    "team": (ALL, {H}),
    "calendar": (ALL, {H}),
    "person": ({H, F, D, E}, {H}),
    "membership": ({H}, {H}),
    "review_group": ({H, G}, {H}),
    "import": ({H}, {H}),
    "standing_parameter": ({H, F}, {H}),
    "indicator": (ALL, {H}),
    "template": (ALL, {H}),
    "period": (ALL, {H}),
    "sheet": ({H, F, D, E, G}, {H, D, E, G}),
    "grading_policy": (ALL, {H}),
    "result": ({H, F, D, E}, {H, E}),
    "appeal": ({H, D, E, G}, {H, D, E, G}),
    "job": ({H}, {H}),
    "pay": ({H, F}, {F}),
    "pay_policy": ({H, F}, {H}),
    "pay_input": ({H, F}, {H, F}),
    "pay_slip": ({H, F, E}, set()),
}


def test_it_covers_every_resource_of_the_matrix():
    assert set(EXPECTED) == set(MATRIX)


@pytest.mark.parametrize("resource", sorted(EXPECTED))
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_it_grants_each_single_role_what_the_table_says(resource, role):
    tenant = SimpleNamespace(roles=frozenset({role}))
    viewers, changers = EXPECTED[resource]
    assert can(tenant, resource, "view") == (role in viewers)
    assert can(tenant, resource, "change") == (role in changers)


def test_it_grants_nothing_without_a_tenant():
    assert not any(can(None, resource, action) for resource in MATRIX for action in ("view", "change"))


def test_it_adds_up_the_rights_of_several_roles():
    tenant = SimpleNamespace(roles=frozenset({E, G}))
    assert can(tenant, "review_group", "view") and not can(tenant, "membership", "view")
