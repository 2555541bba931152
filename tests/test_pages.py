"""The browser pages: sign-in, language, my work per role, departments, people, one person, members.

Pages are checked through the test client as a signed-in user of each role; elements are found by
their ids so the assertions do not depend on the wording of either language.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope

from organizations import services
from organizations.middleware import SESSION_KEY
from organizations.models import Organization, Team, User
from tests.conftest import World

EMPLOYEE_NOS_A = {"a-hr", "a-head", "a-employee", "a-finance", "a-colleague"}
EMPLOYEE_NOS_B = {"b-hr", "b-head", "b-employee", "b-finance", "b-colleague"}


def _html(response: Any) -> str:
    return response.content.decode()


def _nav(response: Any) -> str:
    """The main navigation only, so links elsewhere on the page (HR's card) do not count."""
    match = re.search(r'<nav id="main-nav".*?</nav>', _html(response), re.S)
    return match.group(0) if match else ""


def _listed_employee_nos(response: Any) -> set[str]:
    html = _html(response)
    return {no for no in EMPLOYEE_NOS_A | EMPLOYEE_NOS_B if f">{no}<" in html}


def _signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


# --- anonymous visitors, sign-in, language ------------------------------------------------------


@pytest.mark.parametrize("name", ["home", "departments", "people", "memberships"])
def test_it_redirects_an_anonymous_visitor_to_login(client: Client, db: None, name: str) -> None:
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_redirects_an_anonymous_visitor_from_a_person_to_login(client: Client, world_a: World) -> None:
    response = client.get(reverse("person-detail", args=[world_a.people["hr"].pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_redirects_an_anonymous_organization_switch_to_login(client: Client, org_a: Organization) -> None:
    response = client.post(reverse("switch-organization"), {"organization_id": org_a.pk})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_renders_the_login_page_in_chinese_by_default(client: Client, db: None) -> None:
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert 'lang="zh-hans"' in _html(response)
    assert "登录" in _html(response)
    assert "绩效考核与绩效工资" in _html(response)


def test_it_switches_the_pages_to_english(client: Client, db: None) -> None:
    client.post("/i18n/setlang/", {"language": "en", "next": reverse("login")})
    html = _html(client.get(reverse("login")))
    assert 'lang="en"' in html
    assert "Sign in" in html
    assert "Performance appraisal and pay" in html


def test_it_sends_the_user_home_after_login(client: Client, hr: User) -> None:
    response = client.post(reverse("login"), {"username": "hr", "password": "pw-hr"})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


# --- my work, per role ---------------------------------------------------------------------------


def test_it_shows_hr_the_organization_setup_card(client: Client, hr: User) -> None:
    html = _html(_signed_in(client, hr).get(reverse("home")))
    assert 'id="card-hr"' in html
    assert reverse("import") in html


def test_it_does_not_show_an_employee_the_hr_card(client: Client, employee: User) -> None:
    html = _html(_signed_in(client, employee).get(reverse("home")))
    assert 'id="card-employee"' in html
    assert 'id="card-hr"' not in html
    assert 'id="card-head"' not in html
    assert 'id="card-finance"' not in html


def test_it_shows_an_employee_their_own_record(client: Client, employee: User, world_a: World) -> None:
    html = _html(_signed_in(client, employee).get(reverse("home")))
    assert "运行部" in html  # their department
    assert "运行一值" in html  # their shift


def test_it_shows_a_head_their_departments(client: Client, head: User, world_a: World) -> None:
    html = _html(_signed_in(client, head).get(reverse("home")))
    assert 'id="card-head"' in html
    assert f"{reverse('people')}?department={world_a.production.pk}" in html
    assert "综合办" not in html  # a department they do not head
    assert 'id="card-hr"' not in html


def test_it_shows_finance_the_pay_sheets_card(client: Client, finance: User) -> None:
    html = _html(_signed_in(client, finance).get(reverse("home")))
    assert 'id="card-finance"' in html
    assert 'id="card-hr"' not in html


def test_it_shows_a_group_member_their_groups(client: Client, supervisor: User) -> None:
    html = _html(_signed_in(client, supervisor).get(reverse("home")))
    assert 'id="card-groups"' in html
    assert "监督小组" in html
    assert 'id="card-hr"' not in html


def test_it_tells_a_user_without_an_organization_so(client: Client, db: None) -> None:
    loner = User.objects.create_user(username="loner", password="pw")
    response = _signed_in(client, loner).get(reverse("home"))
    assert response.status_code == 200
    assert 'id="no-organization"' in _html(response)


def test_it_sends_a_user_without_an_organization_home_from_tenant_pages(client: Client, db: None) -> None:
    loner = User.objects.create_user(username="loner", password="pw")
    response = _signed_in(client, loner).get(reverse("people"))
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


# --- navigation ------------------------------------------------------------------------------


def test_it_shows_import_and_members_in_hr_navigation(client: Client, hr: User) -> None:
    nav = _nav(_signed_in(client, hr).get(reverse("home")))
    assert f'href="{reverse("import")}"' in nav
    assert f'href="{reverse("memberships")}"' in nav


def test_it_hides_import_and_members_from_employee_navigation(client: Client, employee: User) -> None:
    nav = _nav(_signed_in(client, employee).get(reverse("home")))
    assert f'href="{reverse("people")}"' in nav
    assert f'href="{reverse("import")}"' not in nav
    assert f'href="{reverse("memberships")}"' not in nav


# --- departments -------------------------------------------------------------------------------


def test_it_lists_departments_with_their_shifts_and_heads(client: Client, hr: User, head: User) -> None:
    html = _html(_signed_in(client, hr).get(reverse("departments")))
    assert "生产部" in html and "运行部" in html and "综合办" in html
    assert "运行一值" in html
    assert "head-a" in html  # the head's person name


def test_it_renders_the_department_tree_with_a_bounded_number_of_queries(
    client: Client, hr: User, head: User, world_a: World
) -> None:
    _signed_in(client, hr).get(reverse("home"))  # the first request also settles the session

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("departments")).status_code == 200
        return len(queries)

    with_three = count_queries()
    with scope(organization=world_a.org):
        for i in range(27):
            department = services.create_department(
                organization=world_a.org, acting_user=None, code=f"X{i}", name=f"部门{i}", parent=world_a.production
            )
            services.create_team(
                organization=world_a.org, acting_user=None, department=department, code=f"XT{i}", name=f"班组{i}",
                kind=Team.Kind.TEAM,
            )
            services.create_person(
                organization=world_a.org, acting_user=None, employee_no=f"x-{i}", name=f"员工{i}", department=department
            )
    assert count_queries() == with_three


# --- people ------------------------------------------------------------------------------------


def test_it_lists_every_person_of_the_organization_for_hr(client: Client, hr: User, world_b: World) -> None:
    response = _signed_in(client, hr).get(reverse("people"))
    assert _listed_employee_nos(response) == EMPLOYEE_NOS_A


def test_it_lists_only_the_headed_subtree_for_a_head(client: Client, head: User, world_b: World) -> None:
    response = _signed_in(client, head).get(reverse("people"))
    assert _listed_employee_nos(response) == {"a-head", "a-employee"}


def test_it_lists_only_themself_for_an_employee(client: Client, employee: User, world_b: World) -> None:
    response = _signed_in(client, employee).get(reverse("people"))
    assert _listed_employee_nos(response) == {"a-employee"}


def test_it_filters_people_by_a_department_and_its_sub_departments(
    client: Client, hr: User, world_a: World
) -> None:
    response = _signed_in(client, hr).get(reverse("people"), {"department": world_a.production.pk})
    assert _listed_employee_nos(response) == {"a-head", "a-employee"}


def test_it_searches_people_by_employee_number(client: Client, hr: User) -> None:
    response = _signed_in(client, hr).get(reverse("people"), {"q": "a-fin"})
    assert _listed_employee_nos(response) == {"a-finance"}


def test_it_shows_nobody_for_another_organizations_department(
    client: Client, hr: User, world_b: World
) -> None:
    response = _signed_in(client, hr).get(reverse("people"), {"department": world_b.production.pk})
    assert response.status_code == 200
    assert _listed_employee_nos(response) == set()


def test_it_returns_only_the_table_to_htmx(client: Client, hr: User) -> None:
    response = _signed_in(client, hr).get(reverse("people"), {"q": "a-hr"}, HTTP_HX_REQUEST="true")
    html = _html(response)
    assert "<html" not in html
    assert _listed_employee_nos(response) == {"a-hr"}


def test_it_links_each_person_to_their_page(client: Client, hr: User, world_a: World) -> None:
    html = _html(_signed_in(client, hr).get(reverse("people")))
    assert reverse("person-detail", args=[world_a.people["colleague"].pk]) in html


# --- one person --------------------------------------------------------------------------------


def test_it_returns_404_for_another_organizations_person(client: Client, hr: User, world_b: World) -> None:
    response = _signed_in(client, hr).get(reverse("person-detail", args=[world_b.people["hr"].pk]))
    assert response.status_code == 404


def test_it_returns_404_when_an_employee_opens_a_colleague(client: Client, employee: User, world_a: World) -> None:
    response = _signed_in(client, employee).get(reverse("person-detail", args=[world_a.people["colleague"].pk]))
    assert response.status_code == 404


def test_it_shows_an_employee_their_own_page(client: Client, employee: User, world_a: World) -> None:
    response = _signed_in(client, employee).get(reverse("person-detail", args=[world_a.people["employee"].pk]))
    assert response.status_code == 200
    assert "a-employee" in _html(response)


def test_it_shows_hr_the_audit_trail_of_an_update(client: Client, hr: User, world_a: World) -> None:
    person = world_a.people["employee"]
    with scope(organization=world_a.org):
        services.update_person(person=person, acting_user=hr, reason="调岗", position="值长")
    html = _html(_signed_in(client, hr).get(reverse("person-detail", args=[person.pk])))
    trail = html[html.index('id="audit-trail"'):]
    assert "调岗" in trail
    assert "值长" in trail
    assert "· hr</span>" in trail  # who made the change


def test_it_hides_the_audit_trail_from_an_employee(client: Client, employee: User, world_a: World) -> None:
    html = _html(_signed_in(client, employee).get(reverse("person-detail", args=[world_a.people["employee"].pk])))
    assert 'id="audit-trail"' not in html


def test_it_hides_pay_from_a_head(client: Client, head: User, world_a: World) -> None:
    html = _html(_signed_in(client, head).get(reverse("person-detail", args=[world_a.people["employee"].pk])))
    assert "3000" not in html


# --- members and roles -------------------------------------------------------------------------


def test_it_forbids_the_memberships_page_to_an_employee(client: Client, employee: User) -> None:
    assert _signed_in(client, employee).get(reverse("memberships")).status_code == 403


def test_it_lists_members_with_their_headships_for_hr(client: Client, hr: User, head: User) -> None:
    html = _html(_signed_in(client, hr).get(reverse("memberships")))
    table = html[html.index('id="membership-table"'):]
    assert "head-a" in table
    assert "生产部" in table


# --- switching organisation ----------------------------------------------------------------------


def _member_of_both(hr: User, world_b: World) -> User:
    with scope(organization=world_b.org):
        services.create_membership(organization=world_b.org, acting_user=None, user=hr, person=world_b.people["head"])
    return hr


def test_it_switches_to_another_organization_of_the_user(client: Client, hr: User, world_b: World) -> None:
    _signed_in(client, _member_of_both(hr, world_b))
    response = client.post(reverse("switch-organization"), {"organization_id": world_b.org.pk})
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == world_b.org.pk
    people = client.get(reverse("people"))
    assert _listed_employee_nos(people) == {"b-head"}
    assert "乙医院" in _html(people)


def test_it_offers_the_switcher_only_to_a_member_of_several(client: Client, hr: User, world_b: World) -> None:
    assert 'id="org-switcher"' not in _html(_signed_in(client, hr).get(reverse("home")))
    _member_of_both(hr, world_b)
    assert 'id="org-switcher"' in _html(client.get(reverse("home")))


def test_it_returns_404_when_switching_to_a_foreign_organization(
    client: Client, hr: User, world_b: World
) -> None:
    response = _signed_in(client, hr).post(reverse("switch-organization"), {"organization_id": world_b.org.pk})
    assert response.status_code == 404
    assert client.session[SESSION_KEY] != world_b.org.pk


def test_it_refuses_a_get_to_the_organization_switch(client: Client, hr: User) -> None:
    assert _signed_in(client, hr).get(reverse("switch-organization")).status_code == 405


def test_it_speaks_chinese_to_an_english_browser_until_the_user_switches(client, db):
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert "登录" in response.content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert "Sign in" in client.get("/login/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
