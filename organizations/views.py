# Placeholder so the project boots; the pages are written next.
from django.http import HttpResponse


def _todo(request, *a, **k):
    return HttpResponse("")


switch_organization = home = departments = people = person_detail = memberships = import_view = _todo
