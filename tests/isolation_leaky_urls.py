"""The project's URLs plus three deliberately broken routes, for the test that the isolation fuzz
catches a leak (tests/test_isolation.py). Never part of the product.

* ``iso-leak/people/<pk>/`` reads the person unscoped: B's person answers 200 with their name.
* ``iso-leak/pay-runs/<pk>/tamper/`` writes unscoped, then checks the tenant: B's pay run
  answers 404 as it should — but has been changed; only the digest of B's rows can tell.
* ``api/iso-leak/sheets/<pk>/`` answers 403 for a sheet of another organisation and 404 for an
  id that exists nowhere: a refusal that says "this exists".
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from django_scopes import scopes_disabled

from appraisal.models import Sheet
from config.urls import urlpatterns as project_urlpatterns
from organizations.models import Person
from payroll.models import PayRun


def leaky_person(request: HttpRequest, pk: int) -> HttpResponse:
    with scopes_disabled():  # the bug
        person = get_object_or_404(Person, pk=pk)
    return HttpResponse(person.name)


def tampering_run(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405)
    with scopes_disabled():  # the bug: the write is not scoped
        PayRun.objects.filter(pk=pk).update(reason="tampered")
    if not PayRun.objects.filter(pk=pk).exists():  # scoped: B's run looks absent
        raise Http404
    return HttpResponse(status=204)


def telltale_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    if Sheet.objects.filter(pk=pk).exists():
        return JsonResponse({"id": pk})
    with scopes_disabled():  # the bug: "not yours" differs from "not there"
        if Sheet.objects.filter(pk=pk).exists():
            raise PermissionDenied
    raise Http404


urlpatterns = [
    path("iso-leak/people/<int:pk>/", leaky_person, name="iso-leak-person"),
    path("iso-leak/pay-runs/<int:pk>/tamper/", tampering_run, name="iso-leak-tamper"),
    path("api/iso-leak/sheets/<int:pk>/", telltale_sheet, name="iso-leak-sheet"),
    *project_urlpatterns,
]
