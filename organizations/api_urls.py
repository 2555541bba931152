from django.urls import path

from core.api import Router
from organizations import api, import_api, setup_api, standing_api, token_api

router = Router()
router.register("organizations", api.OrganizationViewSet, basename="organization")
router.register("departments", api.DepartmentViewSet, basename="department")
router.register("teams", api.TeamViewSet, basename="team")
router.register("people", api.PersonViewSet, basename="person")
router.register("memberships", api.MembershipViewSet, basename="membership")
router.register("department-types", setup_api.DepartmentTypeViewSet, basename="department-type")
router.register("review-groups", setup_api.ReviewGroupViewSet, basename="review-group")
router.register("calendar-days", setup_api.CalendarDayViewSet, basename="calendar-day")
router.register("standing-parameters", standing_api.StandingParameterViewSet, basename="standing-parameter")
router.register("api-tokens", token_api.ApiTokenViewSet, basename="api-token")

urlpatterns = [
    path("imports/dry-run/", import_api.ImportDryRunView.as_view(), name="import-dry-run"),
    path("imports/apply/", import_api.ImportApplyView.as_view(), name="import-apply"),
    *router.urls,
]
