"""Routes of the appraisal API: periods, sheets and lines, results, appeals, jobs and grading
policies.

Included under ``api/`` next to organizations.api_urls; the root view stays the organisations'
router's, so this router has none.
"""

from django.urls import path

from appraisal import api, bulk_rating_api, results_api
from core.api import Router

router = Router()
router.include_root_view = False
router.register("periods", api.PeriodViewSet, basename="period")
router.register("sheets", api.SheetViewSet, basename="sheet")
router.register("lines", api.LineViewSet, basename="line")
router.register("results", results_api.ResultViewSet, basename="result")
router.register("appeals", results_api.AppealViewSet, basename="appeal")
router.register("jobs", results_api.JobViewSet, basename="job")
router.register("grading-policies", results_api.GradingPolicyViewSet, basename="grading-policy")

urlpatterns = [
    # A rater's grid in one request (appraisal.bulk_rating_api): one route, not a resource of the router, so
    # the router's list and detail routes (and the tests that walk them) do not apply.
    path("periods/<str:period_pk>/ratings/bulk/", bulk_rating_api.BulkRatingViewSet.as_view({"post": "bulk"}),
         name="period-ratings-bulk"),
    *router.urls,
]
