from rest_framework.routers import DefaultRouter

from organizations import api

router = DefaultRouter()
router.register("organizations", api.OrganizationViewSet, basename="organization")
router.register("departments", api.DepartmentViewSet, basename="department")
router.register("teams", api.TeamViewSet, basename="team")
router.register("people", api.PersonViewSet, basename="person")
router.register("memberships", api.MembershipViewSet, basename="membership")

urlpatterns = router.urls
