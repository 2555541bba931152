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
