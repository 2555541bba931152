"""Stale sheets: database triggers mark a sheet when anything its score depends on is written, by
any path; rescoring marks it scored; a period's rescoring (the close) rescores only stale sheets,
and never saves a score read across a concurrent change."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from appraisal import services
from appraisal.models import DeductionRecord, Period, Rater, Rating, Sheet, SheetLine
from appraisal.services import rescoring
from indicators.models import Template, TemplatePart
from tests.conftest import World
from tests.test_sheets import departments_scheme, line_of

__all__ = ["departments_scheme"]  # the fixture, used by name

Scheme = tuple[World, Period]


def _stale(period: Period) -> set[str]:
    return {str(name) for name in Sheet.objects.filter(period=period, scored_version__lt=F("data_version"))
            .values_list("department__code", flat=True)}


def _scored(world: World, period: Period) -> Sheet:
    """The production department's sheet, with every sheet of the period scored (none stale)."""
    services.rescore_period(period=period, acting_user=None, reason="scored")
    assert _stale(period) == set()
    return Sheet.objects.get(period=period, department=world.production)


def _change_output(sheet: Sheet) -> SheetLine:
    """Changes the output line's data behind the services' back: the sheet is stale."""
    line = line_of(sheet, "OUTPUT")
    SheetLine.objects.filter(pk=line.pk).update(target=Decimal("1000"), actual=Decimal("950"))
    return line


@pytest.fixture
def scored(departments_scheme: Scheme) -> tuple[World, Period, Sheet]:
    world, period = departments_scheme
    with scope(organization=world.org):
        return world, period, _scored(world, period)


def test_it_makes_new_sheets_stale(departments_scheme: Scheme) -> None:
    world, period = departments_scheme
    with scope(organization=world.org):
        assert _stale(period) == {world.production.code, world.shift_dept.code, world.back_office.code}


def test_it_marks_scored_sheets_fresh(scored: tuple[World, Period, Sheet]) -> None:
    world, _period, sheet = scored
    with scope(organization=world.org):
        assert not Sheet.objects.get(pk=sheet.pk).is_stale


def test_it_marks_only_the_sheet_whose_line_data_a_bulk_update_changed(scored: tuple[World, Period, Sheet]) -> None:
    world, period, sheet = scored
    with scope(organization=world.org):
        SheetLine.objects.filter(pk=line_of(sheet, "OUTPUT").pk).update(actual=Decimal("5"))
        assert _stale(period) == {world.production.code}


@pytest.mark.parametrize("change", [{"target": Decimal("7")}, {"inputs": {"a": "1"}}, {"config": {"cap_rate": "1"}},
                                    {"max_points": Decimal("90")}, {"rating": "好"}, {"accepted": True}])
def test_it_marks_a_sheet_stale_for_each_kind_of_line_data(scored: tuple[World, Period, Sheet],
                                                           change: dict[str, Any]) -> None:
    world, period, sheet = scored
    with scope(organization=world.org):
        SheetLine.objects.filter(pk=line_of(sheet, "OUTPUT").pk).update(**change)
        assert _stale(period) == {world.production.code}


def test_it_leaves_a_sheet_fresh_when_only_scores_are_written(scored: tuple[World, Period, Sheet]) -> None:
    world, period, sheet = scored
    with scope(organization=world.org):
        SheetLine.objects.filter(sheet=sheet).update(score=Decimal("1"), explanation="x", version=F("version") + 1)
        Sheet.objects.filter(pk=sheet.pk).update(score=Decimal("1"), explanation="x")
        assert _stale(period) == set()


def test_it_leaves_a_sheet_fresh_when_a_line_is_saved_unchanged(scored: tuple[World, Period, Sheet]) -> None:
    world, period, sheet = scored
    with scope(organization=world.org):
        line_of(sheet, "OUTPUT").save()
        assert _stale(period) == set()


def test_it_marks_a_sheet_stale_when_a_line_is_added_or_removed(scored: tuple[World, Period, Sheet]) -> None:
    world, period, sheet = scored
    with scope(organization=world.org):
        line = line_of(sheet, "OUTPUT")
        line.delete()
        assert _stale(period) == {world.production.code}
        _scored(world, period)
        line.pk = None
        line.save()
        assert _stale(period) == {world.production.code}


def test_it_marks_a_sheet_stale_when_records_are_added_changed_or_removed(
        scored: tuple[World, Period, Sheet]) -> None:
    world, period, sheet = scored
    with scope(organization=world.org):
        record = DeductionRecord.objects.create(organization=world.org, line=line_of(sheet, "CHECK"), item_code="c",
                                                count=1, occurred_on=dt.date(2025, 10, 8))
        assert _stale(period) == {world.production.code}
        for write in (lambda: DeductionRecord.objects.filter(pk=record.pk).update(count=2), record.delete):
            _scored(world, period)
            write()
            assert _stale(period) == {world.production.code}


def test_it_marks_a_sheet_stale_when_a_rater_is_reweighted_or_recused(scored: tuple[World, Period, Sheet]) -> None:
    world, period, sheet = scored
    with scope(organization=world.org):
        rater = Rater.objects.filter(sheet=sheet).first()
        assert rater is not None
        Rater.objects.filter(pk=rater.pk).update(recusal_reason="回避")  # not something the score depends on
        assert _stale(period) == set()
        for change in ({"weight": Decimal("0.3")}, {"recused": True}):
            Rater.objects.filter(pk=rater.pk).update(**change)
            assert _stale(period) == {world.production.code}
            _scored(world, period)


def test_it_marks_a_sheet_stale_when_a_rating_is_given_changed_or_withdrawn(
        scored: tuple[World, Period, Sheet]) -> None:
    world, period, sheet = scored
    with scope(organization=world.org):
        rater = Rater.objects.filter(sheet=sheet).first()
        assert rater is not None
        rating = Rating.objects.create(organization=world.org, line=line_of(sheet, "PROC"), rater=rater,
                                       rating="好", score=Decimal("100"))
        assert _stale(period) == {world.production.code}
        _scored(world, period)
        Rating.objects.filter(pk=rating.pk).update(comment="很好")  # commentary only
        assert _stale(period) == set()
        for write in (lambda: Rating.objects.filter(pk=rating.pk).update(score=Decimal("80")), rating.delete):
            write()
            assert _stale(period) == {world.production.code}
            _scored(world, period)


def test_it_marks_every_sheet_of_a_template_stale_when_its_parts_or_base_change(
        scored: tuple[World, Period, Sheet]) -> None:
    world, period, sheet = scored
    everyone = {world.production.code, world.shift_dept.code, world.back_office.code}
    with scope(organization=world.org):
        TemplatePart.objects.filter(template_id=sheet.template_id, code="kpi").update(weight=Decimal("0.6"))
        assert _stale(period) == everyone
        _scored(world, period)
        Template.objects.filter(pk=sheet.template_id).update(name="改名")  # the name is not scored
        assert _stale(period) == set()
        Template.objects.filter(pk=sheet.template_id).update(base_score=Decimal("100"))
        assert _stale(period) == everyone


def test_it_keeps_the_newer_data_version_when_an_older_copy_of_the_sheet_is_saved(
        scored: tuple[World, Period, Sheet]) -> None:
    world, period, sheet = scored
    with scope(organization=world.org):
        SheetLine.objects.filter(pk=line_of(sheet, "OUTPUT").pk).update(actual=Decimal("5"))
        sheet.special_reason = "read before the change"
        sheet.save()  # writes every column, the data_version it was read with too
        assert _stale(period) == {world.production.code}


def test_it_keeps_a_sheet_fresh_after_an_edit_through_the_service(scored: tuple[World, Period, Sheet]) -> None:
    world, _period, sheet = scored
    with scope(organization=world.org):
        line = line_of(sheet, "OUTPUT")
        services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None,
                             target=Decimal("1000"), actual=Decimal("950"))
        after = Sheet.objects.get(pk=sheet.pk)
        assert not after.is_stale
        assert after.score == services.rescore_sheet(sheet=sheet, acting_user=None).score


def test_it_rescores_only_the_stale_sheets_of_a_period(scored: tuple[World, Period, Sheet]) -> None:
    world, period, sheet = scored
    with scope(organization=world.org):
        # A fresh sheet's score is what its last scoring wrote: a period's rescoring does not read it
        # (the wrong score written here behind everyone's back shows it was not recomputed).
        Sheet.objects.filter(department=world.back_office).update(score=Decimal("1.00"))
        _change_output(sheet)
        count = services.rescore_period(period=period, acting_user=None, reason="again")
        assert (count.sheets, count.changed_sheets, count.skipped) == (1, 1, 0)
        assert _stale(period) == set()
        assert Sheet.objects.get(department=world.back_office).score == Decimal("1.00")


def test_it_marks_a_rescored_sheet_scored_in_the_update_that_writes_its_score(
        scored: tuple[World, Period, Sheet]) -> None:
    world, period, sheet = scored
    with scope(organization=world.org):
        _change_output(sheet)
        with CaptureQueriesContext(connection) as queries:
            count = services.rescore_period(period=period, acting_user=None, reason="again")
        assert count.changed_sheets == 1
        assert _stale(period) == set()
    # One write of the sheet's row (with its twelve indexes), not a second for scored_version.
    writes = [q["sql"] for q in queries.captured_queries if 'UPDATE "appraisal_sheet" SET' in q["sql"]]
    assert len(writes) == 1


def test_it_reads_nothing_more_when_no_sheet_is_stale(scored: tuple[World, Period, Sheet],
                                                      django_assert_num_queries: Callable[..., Any]) -> None:
    world, period, _sheet = scored
    with scope(organization=world.org), django_assert_num_queries(1):
        assert services.rescore_period(period=period, acting_user=None, reason="again").sheets == 0


def _changing_before_the_write(monkeypatch: pytest.MonkeyPatch, change: Callable[[], object]) -> None:
    """Runs ``change`` once, after the rescoring has read and scored but before it writes: what a
    concurrent edit or a concurrent rescoring would do."""
    real = rescoring._save_rescored
    done: list[bool] = []

    def save(*args: Any, **kwargs: Any) -> None:
        if not done:
            done.append(True)
            change()
        real(*args, **kwargs)

    monkeypatch.setattr(rescoring, "_save_rescored", save)


def test_it_writes_nothing_for_a_sheet_whose_data_changed_after_it_was_read(
        scored: tuple[World, Period, Sheet], monkeypatch: pytest.MonkeyPatch) -> None:
    world, period, sheet = scored
    with scope(organization=world.org):
        line = _change_output(sheet)
        before = Sheet.objects.get(pk=sheet.pk).score
        _changing_before_the_write(monkeypatch, lambda: SheetLine.objects.filter(pk=line.pk).update(
            actual=Decimal("990")))
        count = services.rescore_period(period=period, acting_user=None, reason="close")
        assert (count.sheets, count.skipped, count.changed_sheets) == (1, 1, 0)
        assert Sheet.objects.get(pk=sheet.pk).score == before
        assert _stale(period) == {world.production.code}  # the next rescoring gets it
        monkeypatch.undo()
        assert services.rescore_period(period=period, acting_user=None, reason="close").changed_sheets == 1
        assert _stale(period) == set()


def test_it_writes_nothing_for_a_sheet_someone_else_rescored_meanwhile(
        scored: tuple[World, Period, Sheet], monkeypatch: pytest.MonkeyPatch) -> None:
    # The other rescoring read the whole sheet after this one read the sheet's row: its score is the
    # one to keep, and this one's rows may come from either side of it.
    world, period, sheet = scored
    with scope(organization=world.org):
        _change_output(sheet)

        def other() -> None:
            services.rescore_sheet(sheet=sheet, acting_user=None)
            Sheet.objects.filter(pk=sheet.pk).update(score=Decimal("2.00"))  # the other one's, recognisably

        _changing_before_the_write(monkeypatch, other)
        count = services.rescore_period(period=period, acting_user=None, reason="close")
        assert (count.sheets, count.skipped) == (1, 1)
        assert Sheet.objects.get(pk=sheet.pk).score == Decimal("2.00")


def test_it_reports_progress_over_all_the_periods_sheets(scored: tuple[World, Period, Sheet],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    world, period, _sheet = scored
    monkeypatch.setattr(rescoring, "BULK_BATCH_SIZE", 1)  # report after every sheet
    with scope(organization=world.org):
        Sheet.objects.filter(period=period).exclude(department=world.production).update(scored_version=0)
        heard: list[int] = []
        services.rescore_period(period=period, acting_user=None, reason="again", progress=heard.append)
    # Three sheets, one fresh: done counts it from the start.
    assert heard == [2, 3]


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="fillfactor is PostgreSQL's")
def test_it_leaves_room_on_the_pages_of_sheets_and_lines_for_their_rewrites() -> None:
    # No column a rescoring or a save changes is indexed: with room on the page PostgreSQL writes
    # the new version beside the old one without touching the indexes (appraisal 0017).
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reloptions FROM pg_class WHERE relname IN (%s, %s) ORDER BY relname",
                       [Sheet._meta.db_table, SheetLine._meta.db_table])
        assert cursor.fetchall() == [("appraisal_sheet", ["fillfactor=80"]), ("appraisal_sheetline", ["fillfactor=80"])]
