"""HR gives S1-4's deputies' template a unit share in the browser (Debian's Chromium, zh-Hans; see
tests/browsing.py): 60 % of the score at close from the department's result, typed as a percentage
in the template editor and shown on the template's page."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from django_scopes import scope

from indicators.models import Template
from organizations.models import User
from tests.browsing import axe_violations, sign_in
from tests.closing import person_template
from tests.conftest import World

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


def test_it_sets_the_share_of_the_units_result_in_the_template_editor(
    axe_browser: Browser, live_server: Any, transactional_db: None, world_a: World, hr: User,
) -> None:
    from playwright.sync_api import expect

    template = person_template(world_a.org)
    page = sign_in(axe_browser, live_server.url, "hr", bypass_csp=True)
    page.goto(f"/templates/{template.pk}/editor/")
    page.wait_for_selector("#template-editor")
    page.fill("#id_unit_share", "60")
    page.select_option("#id_unit", "department")
    assert not axe_violations(page)
    page.click("#template-save")
    page.wait_for_url(re.compile(r"/templates/\d+/$"))
    expect(page.locator("#template-unit-share")).to_contain_text("60%")
    with scope(organization=world_a.org):
        saved = Template.objects.filter(code=template.code).order_by("-version").first()
    assert saved is not None and saved.version == template.version + 1
    assert (saved.unit_share, saved.unit) == (Decimal("0.6"), "department")
