"""The rater's grid in a real browser (Debian's Chromium, zh-Hans; see tests/test_browser.py): the head,
a member of the review group, goes from his home card to 我的评分, fills the three sheets of the shift's
department on both lines (a choice and a value), saves once and sees the sheets' scores; then a value
that is not a number comes back on its cell with nothing saved, and axe finds no serious or critical
WCAG 2.1 AA violation on the refused grid."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from django_scopes import scope

from appraisal.models import Rating, Sheet
from organizations.models import User
from tests.browsing import axe_violations
from tests.browsing import sign_in as _sign_in
from tests.conftest import World
from tests.test_bulk_rating import Grid, build_grid

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

SHIFT = {"employee": ("优秀", "90"), "op1": ("良好", "80"), "op2": ("合格", "70")}


def _cell(grid: Grid, key: str, code: str) -> str:
    return f"#cell-{grid.rater(key).pk}-{grid.line(key, code).pk}"


def test_it_rates_a_departments_sheets_in_one_save(axe_browser: Browser, live_server: Any, transactional_db: None,
                                                    world_a: World, head: User, employee: User) -> None:
    from playwright.sync_api import expect

    grid = build_grid(world_a, head, employee)
    page = _sign_in(axe_browser, live_server.url, "head", bypass_csp=True)
    page.locator("#card-head-tasks .own-rating").click()
    page.wait_for_url(re.compile(rf"/periods/{grid.period.pk}/rate/$"))
    page.select_option("#grid-department", str(world_a.shift_dept.pk))
    page.click("#grid-filter-apply")
    page.wait_for_url(re.compile(rf"department={world_a.shift_dept.pk}"))
    expect(page.locator("tr.grid-row")).to_have_count(3)
    for key, (label, value) in SHIFT.items():
        page.select_option(_cell(grid, key, "WORK"), label)
        page.fill(_cell(grid, key, "ETHIC"), value)
    page.click("#grid-save")
    page.wait_for_load_state("load")

    with scope(organization=world_a.org):
        assert Rating.objects.count() == 6
        sheets = [Sheet.objects.get(pk=grid.sheet(key).pk) for key in SHIFT]
    for sheet in sheets:
        assert sheet.score is not None
        shown = page.locator(f'tr.grid-row[data-sheet="{sheet.pk}"] .grid-score')
        expect(shown).to_have_text(str(sheet.score))
    assert page.locator(_cell(grid, "op1", "ETHIC")).input_value() == "80"

    page.fill(_cell(grid, "op2", "ETHIC"), "很好")
    page.select_option(_cell(grid, "op1", "WORK"), "优秀")
    page.click("#grid-save")
    error = page.locator(f'{_cell(grid, "op2", "ETHIC")}-error')
    expect(error).to_be_visible()
    expect(error).to_contain_text("值班员2")
    expect(error).to_contain_text("医德医风")
    expect(page.locator("#grid-problems .grid-problem")).to_have_count(1)
    expect(page.locator("#grid-problems")).to_be_focused()  # the answer to the post is read out first
    assert page.locator(_cell(grid, "op1", "WORK")).input_value() == "优秀"  # kept as chosen, not saved
    with scope(organization=world_a.org):
        assert Rating.objects.get(line=grid.line("op1", "WORK")).rating == "良好"
    assert not axe_violations(page)
