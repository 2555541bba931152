"""The close benchmark command: a small run, to keep it working (its figures are in the README)."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from organizations.models import Organization


@pytest.mark.django_db
def test_it_closes_pays_and_exports_a_synthetic_period_then_rolls_back() -> None:
    out = io.StringIO()
    call_command("bench_close", employees=40, departments=4, stale=Decimal("0.5"), stdout=out)
    text = out.getvalue()
    stale = re.search(r"(\d+) sheets stale", text)
    assert stale is not None and 0 < int(stale.group(1)) < 40
    assert f"{stale.group(1)} stale sheets rescored, 40 results" in text
    assert "40 slips" in text and "employees/s" in text
    assert not Organization.objects.filter(slug__startswith="bench-close").exists()


@pytest.mark.django_db
def test_it_rescores_nothing_at_close_when_every_sheet_was_scored() -> None:
    out = io.StringIO()
    call_command("bench_close", employees=20, departments=2, stdout=out)
    assert "0 stale sheets rescored, 20 results" in out.getvalue()


def test_it_refuses_a_stale_share_above_one() -> None:
    with pytest.raises(CommandError, match="--stale"):
        call_command("bench_close", employees=10, stale=Decimal("1.5"))
