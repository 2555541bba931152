import pytest
from django_scopes import ScopeError, scope

from organizations.models import Person


def test_it_raises_on_an_unscoped_query(world_a):
    with pytest.raises(ScopeError):
        list(Person.objects.all())


def test_it_returns_only_the_scoped_tenants_rows(world_a, world_b):
    with scope(organization=world_a.org):
        numbers = set(Person.objects.values_list("employee_no", flat=True))
    assert numbers and all(n.startswith("a-") for n in numbers)


def test_it_scopes_the_audit_trail_too(world_a, world_b):
    with pytest.raises(ScopeError):
        list(Person.history.all())
    with scope(organization=world_b.org):
        assert Person.history.filter(organization=world_b.org).count() == 5
        assert not Person.history.filter(organization=world_a.org).exists()


def test_it_runs_a_task_inside_the_organisations_scope(org_a, django_capture_on_commit_callbacks):
    from organizations.models import CalendarYear
    from organizations.tasks import seed_calendar_year

    # Called from outside any scope, as a worker would be: the task base class enters it.
    result = seed_calendar_year.delay(organization_id=org_a.pk, year=2025).get()
    assert result["added"] > 0
    with scope(organization=org_a):
        assert CalendarYear.objects.filter(year=2025).exists()


def test_it_refuses_a_tenant_task_without_an_organisation_id(db):
    from organizations.tasks import seed_calendar_year

    with pytest.raises(TypeError, match="organization_id"):
        seed_calendar_year.delay(year=2025).get()


def test_it_sends_tasks_only_after_commit(org_a, django_capture_on_commit_callbacks):
    from organizations.models import CalendarYear
    from organizations.tasks import enqueue, seed_calendar_year

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        enqueue(seed_calendar_year, organization_id=org_a.pk, year=2025)
        with scope(organization=org_a):
            assert not CalendarYear.objects.exists()  # nothing sent yet
    assert len(callbacks) == 1
