from django.urls import path

from core.api import Router
from organizations import api, import_api

router = Router()
router.register("organizations", api.OrganizationViewSet, basename="organization")
router.register("departments", api.DepartmentViewSet, basename="department")
router.register("teams", api.TeamViewSet, basename="team")
router.register("people", api.PersonViewSet, basename="person")
router.register("memberships", api.MembershipViewSet, basename="membership")

urlpatterns = [
    path("imports/dry-run/", import_api.ImportDryRunView.as_view(), name="import-dry-run"),
    path("imports/apply/", import_api.ImportApplyView.as_view(), name="import-apply"),
    *router.urls,
]
