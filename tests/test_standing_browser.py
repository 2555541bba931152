"""Standing parameters in a real browser (Debian's Chromium, zh-Hans; see tests/browsing.py).

HR adds a person's parameter from the person's page with the date it takes effect and sees it in
the page's list. HR uploads a workbook of a person's and a department's values from 部门参数: a dry
run first, which writes nothing; the same file applied, whose department value the list then
shows; and a file with a value that is not a number, which names the row and column and writes
nothing (not even its good rows). Django-level cases are in tests/test_standing_params.py and
tests/test_standing_upload.py."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from organizations.models import User
from tests.browsing import axe_violations, sign_in
from tests.conftest import World
from tests.test_standing_upload import stored, workbook

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

D = Decimal
GOOD = [("a-colleague", None, "seniority", 120, dt.date(2025, 1, 1)),
        (None, "a-B", "business", "1.15", "2025-01-01")]
# Row 3 (Excel's numbering, the header is row 1) has a value that is not a number.
BAD = [("a-colleague", None, "skill", "1.1", "2025-02-01"),
       ("a-colleague", None, "skill2", "1.2x", "2025-02-01")]



def test_it_adds_a_persons_parameter_from_their_page(axe_browser: Browser, live_server: Any, transactional_db: None,
                                                     world_a: World, hr: User) -> None:
    from playwright.sync_api import expect

    clerk = world_a.people["colleague"]
    page = sign_in(axe_browser, live_server.url, "hr", bypass_csp=True)
    page.goto(f"/people/{clerk.pk}/")
    expect(page.locator("#standing-parameters tbody tr")).to_have_count(0)
    page.locator("#standing-parameter-new").click()
    page.wait_for_url(re.compile(rf"/people/{clerk.pk}/parameters/new/$"))
    page.fill("#id_name", "seniority")
    page.fill("#id_value", "12.5")
    page.fill("#id_effective_from", "2025-03-01")
    assert not axe_violations(page)
    page.locator("#setup-save").click()
    page.wait_for_url(re.compile(rf"/people/{clerk.pk}/$"))

    row = page.locator('#standing-parameters tr[data-parameter="seniority"]')
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(2)).to_have_text("2025-03-01")
    assert stored(world_a) == {("a-colleague", "seniority", D("12.5"), dt.date(2025, 3, 1), None)}


def test_it_uploads_a_workbook_after_a_dry_run_and_refuses_a_bad_one_whole(
    axe_browser: Browser, live_server: Any, transactional_db: None, world_a: World, hr: User, tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    good, bad = tmp_path / "good.xlsx", tmp_path / "bad.xlsx"
    good.write_bytes(workbook(tmp_path, GOOD))
    bad.write_bytes(workbook(tmp_path, BAD))
    page = sign_in(axe_browser, live_server.url, "hr", bypass_csp=True)
    page.locator('#main-nav a[href="/parameters/departments/"]').click()
    page.locator("#standing-parameter-upload").click()
    page.wait_for_url(re.compile(r"/parameters/upload/$"))

    page.set_input_files("#id_file", str(good))
    page.locator("#standing-upload-dry-run").click()
    summary = page.locator("#standing-upload-summary")
    expect(summary).to_have_attribute("data-created", "2")
    expect(summary).not_to_have_class(re.compile("alert-success"))
    assert stored(world_a) == set()

    page.set_input_files("#id_file", str(good))  # a dry run's page starts with no file chosen
    page.locator("#standing-upload-apply").click()
    expect(page.locator("#standing-upload-summary.alert-success")).to_have_attribute("data-created", "2")
    applied = {("a-colleague", "seniority", D("120"), dt.date(2025, 1, 1), None),
               ("a-B", "business", D("1.15"), dt.date(2025, 1, 1), None)}
    assert stored(world_a) == applied

    page.set_input_files("#id_file", str(bad))
    page.locator("#standing-upload-apply").click()
    problems = page.locator("#import-errors tbody tr")
    expect(problems).to_have_count(1)
    expect(problems).to_have_attribute("data-row", "3")
    expect(problems).to_have_attribute("data-column", "数值")
    expect(problems).to_have_attribute("data-code", "bad_decimal")
    assert not axe_violations(page)
    assert stored(world_a) == applied  # not even row 2, which is good

    page.locator(".breadcrumb a").first.click()
    page.wait_for_url(re.compile(r"/parameters/departments/$"))
    expect(page.locator('#department-parameters tr[data-department="a-B"][data-parameter="business"]')).to_have_count(1)
