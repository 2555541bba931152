"""The scheme gallery (issue #12): packages load all or nothing, an organisation's configuration
exports as a package that loads into the same configuration, and HR makes a new organisation from a
scheme on the 从方案创建 page (or an operator with manage.py load_scheme)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from organizations import gallery
from organizations.middleware import SESSION_KEY
from organizations.models import Department, Membership, Organization, Person, User
from organizations.package_structure import PackageInvalid
from organizations.packages import export_package, load_package

PLANT = Path(settings.BASE_DIR) / "fixtures" / "demo" / "plant.json"


def _plant(**changes: Any) -> dict[str, Any]:
    data = json.loads(PLANT.read_text(encoding="utf-8"))
    data.pop("accounts")
    data.pop("periods")
    data.update(changes)
    return data


@pytest.fixture
def fake_gallery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A gallery of three schemes made from the demo plant, out of the articles' order on disk."""
    for scheme_id in ("S1-10", "S0-2", "S1-2"):
        folder = tmp_path / scheme_id
        folder.mkdir()
        head = {"id": scheme_id, "title": f"方案{scheme_id}", "summary": "示范", "source": "seeds"}
        data = _plant(scheme=head, accounts=[{"username": "hr", "person": "D0002", "hr_admin": True}])
        (folder / "package.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setattr(gallery, "GALLERY_DIR", tmp_path)
    return tmp_path


def _without_header(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key != "organization"}


def test_it_exports_a_configuration_that_loads_into_the_same_configuration(db: None) -> None:
    first = load_package(_plant(), slug="rt-a", name="甲厂")
    exported = export_package(first)
    second = load_package(json.loads(json.dumps(exported)), slug="rt-b", name="乙厂")
    again = export_package(second)
    assert _without_header(again) == _without_header(exported)
    original = _plant()
    for section in ("departments", "teams", "people", "indicators", "templates", "grading_policies", "pay_policies"):
        assert len(exported[section]) == len(original[section]), section
    assert "accounts" not in exported and "periods" not in exported


def test_it_exports_the_indicator_tree_and_scoped_benchmarks(db: None) -> None:
    organization = load_package(_plant(), slug="rt-a", name="甲厂")
    indicators = {spec["code"]: spec for spec in export_package(organization)["indicators"]}
    original = {spec["code"]: spec for spec in _plant()["indicators"]}
    coal = indicators["COAL"]
    # The stored configuration is the checked one, defaults filled in: what the package said is kept.
    assert coal["method"] == original["COAL"]["method"]
    assert original["COAL"]["config"].items() <= coal["config"].items()
    assert [b["value"] for b in coal["benchmarks"]] == [b["value"] for b in original["COAL"]["benchmarks"]]
    assert coal["benchmarks"][1]["months"] == [11, 12, 1, 2, 3]


def test_it_loads_a_package_all_or_nothing(db: None) -> None:
    broken = _plant()
    broken["people"][3]["部门编码"] = "NOWHERE"
    with pytest.raises(PackageInvalid, match="NOWHERE"):
        load_package(broken, slug="broken", name="坏厂")
    assert not Organization.objects.filter(slug="broken").exists()
    with scopes_disabled():
        assert not Department.objects.filter(code="HQ").exists()


def test_it_lists_the_gallery_in_the_articles_order(fake_gallery: Path) -> None:
    assert [scheme.id for scheme in gallery.schemes()] == ["S0-2", "S1-2", "S1-10"]


def test_it_makes_an_organisation_from_a_scheme_with_hr_as_its_hr_admin(
    client: Client, hr: User, fake_gallery: Path
) -> None:
    client.force_login(hr)
    response = client.post(reverse("schemes"), {"scheme": "S0-2", "scheme-s0-2-name": "新热电厂",
                                                "scheme-s0-2-slug": "new-plant"})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    made = Organization.objects.get(slug="new-plant")
    assert made.name == "新热电厂" and client.session[SESSION_KEY] == made.pk
    with scope(organization=made):
        assert Department.objects.count() == len(_plant()["departments"])
        assert Person.objects.count() == len(_plant()["people"])
        # The package's own account is left out: only the creator is a member, as HR admin.
        assert list(Membership.objects.values_list("user__username", "is_hr_admin")) == [("hr", True)]


def test_it_refuses_a_short_code_that_is_taken_and_makes_nothing(
    client: Client, hr: User, org_a: Organization, fake_gallery: Path
) -> None:
    Organization.objects.create(slug="taken-code", name="已有单位")
    client.force_login(hr)
    before = Organization.objects.count()
    response = client.post(reverse("schemes"), {"scheme": "S0-2", "scheme-s0-2-name": "重名",
                                                "scheme-s0-2-slug": "taken-code"})
    assert response.status_code == 400
    assert "简码 taken-code 已被使用" in response.content.decode()
    assert Organization.objects.count() == before


def test_it_shows_each_scheme_with_its_summary_and_a_form_of_its_own(
    client: Client, hr: User, fake_gallery: Path
) -> None:
    client.force_login(hr)
    html = client.get(reverse("schemes")).content.decode()
    assert html.index('id="scheme-s0-2"') < html.index('id="scheme-s1-2"') < html.index('id="scheme-s1-10"')
    assert 'id="id_scheme-s0-2-slug"' in html and 'id="id_scheme-s1-10-slug"' in html


def test_it_keeps_the_gallery_from_an_employee(client: Client, employee: User, fake_gallery: Path) -> None:
    client.force_login(employee)
    assert client.get(reverse("schemes")).status_code == 403
    assert client.get(reverse("organization-export")).status_code == 403


def test_it_downloads_the_organisations_configuration_as_a_package(client: Client, hr: User, org_a: Organization
                                                                   ) -> None:
    client.force_login(hr)
    response = client.get(reverse("organization-export"))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["organization"]["slug"] == org_a.slug
    with scope(organization=org_a):
        assert sorted(d["部门编码"] for d in data["departments"]) == sorted(
            Department.objects.values_list("code", flat=True))


def test_it_makes_an_organisation_from_the_command_line(db: None, fake_gallery: Path) -> None:
    call_command("load_scheme", "S1-2", organization="coaches")
    assert Organization.objects.get(slug="coaches").name == "方案S1-2"
    with pytest.raises(CommandError, match="S9-9"):
        call_command("load_scheme", "S9-9", organization="nothing")


@pytest.mark.parametrize("scheme_id", [scheme.id for scheme in gallery.schemes()])
def test_it_round_trips_every_scheme_of_the_gallery(db: None, scheme_id: str) -> None:
    made = gallery.create_from_scheme(scheme_id=scheme_id, name=scheme_id, slug=f"from-{scheme_id.lower()}",
                                      acting_user=None)
    exported = export_package(made)
    package = gallery.package(scheme_id)
    for section in ("indicators", "templates", "grading_policies", "pay_policies"):
        assert len(exported[section]) == len(package.get(section, [])), section
    again = export_package(load_package(json.loads(json.dumps(exported)), slug="again", name="again"))
    assert _without_header(again) == _without_header(exported)
