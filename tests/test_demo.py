from django.core.management import call_command
from django_scopes import scope

from organizations.models import CalendarYear, Organization, Person, Team


def _load(capsys) -> str:
    call_command("load_demo")
    return capsys.readouterr().out


def test_it_loads_a_plant_of_thirty_people_with_shifts(db, capsys, django_capture_on_commit_callbacks):
    # The calendar is seeded by a task sent after commit.
    with django_capture_on_commit_callbacks(execute=True):
        _load(capsys)
    plant = Organization.objects.get(slug="demo-plant")
    with scope(organization=plant):
        assert Person.objects.count() == 30
        assert Team.objects.filter(kind=Team.Kind.SHIFT).count() == 3
        assert CalendarYear.objects.filter(year=2026).exists()


def test_it_prints_sign_ins_that_work_for_each_role(db, capsys, client):
    out = _load(capsys)
    for username in ["hr", "head", "finance", "employee", "supervisor"]:
        assert f"{username}-demo-2026" in out
        assert client.login(username=username, password=f"{username}-demo-2026")


def test_it_can_run_twice_without_duplicating(db, capsys):
    _load(capsys)
    _load(capsys)
    assert Organization.objects.filter(slug__startswith="demo-").count() == 2
    with scope(organization=Organization.objects.get(slug="demo-plant")):
        assert Person.objects.count() == 30


def test_it_opens_a_demo_period_with_a_sheet_per_person_and_shift(db, capsys, django_capture_on_commit_callbacks):
    from appraisal.models import Sheet

    with django_capture_on_commit_callbacks(execute=True):
        _load(capsys)
    with scope(organization=Organization.objects.get(slug="demo-plant")):
        sheets = Sheet.objects.filter(period__code="2026-11")
        # 30 people and the three shifts; the maintenance teams are not shifts.
        assert sheets.filter(subject_kind="person").count() == 30
        assert sorted(sheets.filter(subject_kind="team").values_list("team__code", flat=True)) == [
            "OPS-1", "OPS-2", "OPS-3"]


def test_it_gives_the_demo_period_a_grading_policy_and_a_pay_policy(db, capsys):
    from appraisal.models import Period
    from payroll.models import PayPolicy

    _load(capsys)
    with scope(organization=Organization.objects.get(slug="demo-plant")):
        assert Period.objects.get(code="2026-11").grading_policy.code == "FD"
        assert PayPolicy.objects.get().components[0]["kind"] == "grade_coefficient"


def test_it_sets_up_the_schemes_asked_for_from_the_gallery_with_the_demos_hr(db, capsys):
    """bin/demo asks for S0-2, S1-4 and S1-10; S1-10 (the hospital) is the quickest to load here."""
    from indicators.models import Indicator
    from organizations import gallery
    from organizations.models import Membership

    call_command("load_demo", schemes="S1-10")
    call_command("load_demo", schemes="S1-10")  # again: refreshed in place
    hospital = Organization.objects.get(slug="scheme-s1-10")
    with scope(organization=hospital):
        assert Indicator.objects.count() == len(gallery.package("S1-10")["indicators"])
        assert list(Membership.objects.values_list("user__username", "is_hr_admin")) == [("hr", True)]
    assert "scheme-s1-10" in capsys.readouterr().out


def test_it_names_a_scheme_the_gallery_does_not_have(db):
    import pytest
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="S9-9"):
        call_command("load_demo", schemes="S9-9")
