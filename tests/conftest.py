"""Factory-style fixtures shared by the suite.

Two organisations, A and B. In A: a production department with a sub-department and a shift,
a back-office department, and five users, one per role. ``outsider`` is HR admin of B: powerful
there, a stranger in A, which is exactly who must get 404 for A's objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django_scopes import scope, scopes_disabled
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient

from organizations import services
from organizations.models import Department, Membership, Organization, Person, ReviewGroup, Team, User

# Keeps tasks eager for every test not marked "services", even when a broker is configured; gives
# every test the `browser` fixture (Debian's Chromium).
pytest_plugins = ["tests.plugins.services", "tests.browsing"]

# Property tests run the same bounded set of examples on every machine: a fixed seed (derandomize),
# no example database in the checkout, no deadline (CI machines are slower than laptops).
hypothesis_settings.register_profile(
    "project", derandomize=True, database=None, deadline=None, max_examples=60, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
hypothesis_settings.load_profile("project")


@pytest.fixture(autouse=True)
def _english_off(settings: Any, tmp_path: Any) -> None:
    # Tests run in the product's default language unless they switch on purpose.
    settings.LANGUAGE_CODE = "zh-hans"
    # Password hashing is deliberately slow; the suite creates many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Uploaded attachments and exported files land in a per-test directory, not the checkout.
    settings.MEDIA_ROOT = str(tmp_path / "media")


@dataclass
class World:
    org: Organization
    production: Department
    shift_dept: Department
    back_office: Department
    shift: Team
    people: dict[str, Person]


def _user(username: str) -> User:
    return User.objects.create_user(username=username, password="pw-" + username)


def build_world(slug: str, name: str) -> World:
    org = services.create_organization(name=name, slug=slug, acting_user=None)
    with scope(organization=org):
        types = {t.code: t for t in org_types(org)}
        production = services.create_department(
            organization=org, acting_user=None, code=f"{slug}-P", name="生产部", department_type=types["production"]
        )
        shift_dept = services.create_department(
            organization=org,
            acting_user=None,
            code=f"{slug}-P1",
            name="运行部",
            parent=production,
            department_type=types["production"],
        )
        back_office = services.create_department(
            organization=org, acting_user=None, code=f"{slug}-B", name="综合办", department_type=types["back_office"]
        )
        shift = services.create_team(
            organization=org,
            acting_user=None,
            department=shift_dept,
            code=f"{slug}-S1",
            name="运行一值",
            kind=Team.Kind.SHIFT,
        )
        people = {}
        for key, dept, team in [
            ("hr", back_office, None),
            ("head", production, None),
            ("employee", shift_dept, shift),
            ("finance", back_office, None),
            ("colleague", back_office, None),
        ]:
            people[key] = services.create_person(
                organization=org,
                acting_user=None,
                employee_no=f"{slug}-{key}",
                name=f"{key}-{slug}",
                department=dept,
                team=team,
                base_pay=Decimal("3000.00"),
            )
    return World(org, production, shift_dept, back_office, shift, people)


def org_types(org: Organization) -> list[Any]:
    from organizations.models import DepartmentType

    return list(DepartmentType.objects.filter(organization=org))


def add_member(
    world: World,
    username: str,
    *,
    person: str | None,
    hr: bool = False,
    finance: bool = False,
    heads: list[Department] | None = None,
) -> User:
    user = _user(username)
    with scope(organization=world.org):
        services.create_membership(
            organization=world.org,
            acting_user=None,
            user=user,
            person=world.people[person] if person else None,
            is_hr_admin=hr,
            is_finance=finance,
            headed_departments=heads or [],
        )
    return user


@pytest.fixture
def world_a(db: None) -> World:
    return build_world("a", "甲电厂")


@pytest.fixture
def world_b(db: None) -> World:
    return build_world("b", "乙医院")


@pytest.fixture
def org_a(world_a: World) -> Organization:
    return world_a.org


@pytest.fixture
def org_b(world_b: World) -> Organization:
    return world_b.org


@pytest.fixture
def hr(world_a: World) -> User:
    return add_member(world_a, "hr", person="hr", hr=True)


@pytest.fixture
def head(world_a: World) -> User:
    return add_member(world_a, "head", person="head", heads=[world_a.production])


@pytest.fixture
def employee(world_a: World) -> User:
    return add_member(world_a, "employee", person="employee")


@pytest.fixture
def finance(world_a: World) -> User:
    return add_member(world_a, "finance", person="finance", finance=True)


@pytest.fixture
def outsider(world_b: World) -> User:
    return add_member(world_b, "outsider", person="hr", hr=True)


@pytest.fixture
def supervisor(world_a: World) -> User:
    """A member of A's supervision group with no other role."""
    user = add_member(world_a, "supervisor", person="colleague")
    with scope(organization=world_a.org):
        group = ReviewGroup.objects.create(organization=world_a.org, code="SUP", name="监督小组", kind="supervision")
        services.add_group_member(group=group, membership=membership_of(user, world_a.org), acting_user=None)
    return user


def membership_of(user: User, org: Organization) -> Membership:
    with scopes_disabled():
        return Membership.objects.get(user=user, organization=org)


@pytest.fixture
def api_for() -> Any:
    """api_for(user) → an APIClient authenticated with a fresh token of the user's membership."""

    def make(user: User, org: Organization | None = None) -> APIClient:
        with scopes_disabled():
            candidates = Membership.objects.filter(user=user).select_related("organization")
            membership = candidates.get(organization=org) if org else candidates.get()
        with scope(organization=membership.organization):
            _, key = services.create_api_token(membership=membership, name="test", acting_user=None)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return make


@pytest.fixture
def in_scope() -> Iterator[Any]:
    """in_scope(org) as a context manager, for tests that read tenant rows directly."""
    yield lambda org: scope(organization=org)
