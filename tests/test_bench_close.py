"""The close benchmark command: a small run, to keep it working (its figures are in the README)."""

from __future__ import annotations

import io
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from organizations.models import Organization
from payroll.management.commands import _cpu


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


@pytest.mark.django_db
def test_it_prints_the_machines_cpu_seconds_and_the_floor_they_set_on_its_cores() -> None:
    out = io.StringIO()
    call_command("bench_close", employees=20, departments=2, stdout=out)
    bound = re.search(r"in the timed steps: ([\d.]+) s .*on (\d+) core\(s\) no run of this work ends sooner "
                      r"than ([\d.]+) s", out.getvalue())
    assert bound is not None
    cpu, cores, floor = float(bound.group(1)), int(bound.group(2)), float(bound.group(3))
    assert cpu > 0 and cores == _cpu.cores()
    assert floor == pytest.approx(cpu / cores, abs=0.01)


def test_it_counts_the_machines_busy_seconds_from_proc_stat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal: idle, iowait and steal are not work.
    stat.write_text("cpu  100 20 30 5000 700 4 6 10 0 0\ncpu0 50 10 15 2500 350 2 3 5 0 0\n")
    monkeypatch.setattr(_cpu, "STAT", stat)
    assert _cpu.machine_seconds() == pytest.approx(160 / os.sysconf("SC_CLK_TCK"))


def test_it_says_when_there_is_no_proc_stat_to_count_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_cpu, "STAT", tmp_path / "missing")
    assert _cpu.machine_seconds() is None
    assert "not measured" in _cpu.bound(None, 100)


def test_it_refuses_a_stale_share_above_one() -> None:
    with pytest.raises(CommandError, match="--stale"):
        call_command("bench_close", employees=10, stale=Decimal("1.5"))
