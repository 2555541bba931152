"""Amounts are shown to the fen everywhere (#12, item 14): a component that pays nothing this period
(an accrual set aside until the year end, a bonus whose condition fails) is stored and shown as 0.00,
never 0 — on the slip's lines, in the run's totals and on the pay-run page."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client
from django.urls import reverse

from tests.closing import add_people
from tests.paying import closed_period, compute, save_policy, slips

POLICY = [
    {"code": "safety", "name": "安全奖", "kind": "accrual",
     "config": {"amount": "300", "pay_when": "is_year_end == 1"}},
    {"code": "award", "name": "年终奖", "kind": "fixed", "when": "is_year_end == 1", "config": {"amount": "1000"}},
    {"code": "base", "name": "基础", "kind": "formula", "config": {"expression": "100 * 1"}},
]


def test_it_stores_an_amount_that_pays_nothing_as_0_00(world_a: Any) -> None:
    save_policy(world_a.org, POLICY)
    (clerk,) = add_people(world_a.org, world_a.back_office, 1)
    run = compute(closed_period(world_a.org, {clerk: "80"}))
    slip = slips(run)[clerk.name]
    assert {line["code"]: line["amount"] for line in slip.lines} == {"safety": "0.00", "award": "0.00",
                                                                     "base": "100.00"}
    assert format(slip.total, "f") == "100.00"


def test_it_shows_an_amount_that_pays_nothing_as_0_00_on_the_slip_page(world_a: Any, finance: Any,
                                                                        client: Client) -> None:
    save_policy(world_a.org, POLICY)
    (clerk,) = add_people(world_a.org, world_a.back_office, 1)
    run = compute(closed_period(world_a.org, {clerk: "80"}))
    client.force_login(finance)
    html = client.get(reverse("pay-run-detail", args=[run.pk])).content.decode()
    # Each component's total over the run, in the components table: the accrual's and the award's 0.00.
    row = r'<tr class="pay-component" data-code="(\w+)"><td>[^<]*</td><td class="text-end">([^<]*)</td>'
    found = dict(re.findall(row, html))
    assert found == {"safety": "0.00", "award": "0.00", "base": "100.00"}
