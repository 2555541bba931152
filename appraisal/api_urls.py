"""Routes of the appraisal API: periods, sheets and lines, results, appeals, jobs and grading
policies.

Included under ``api/`` next to organizations.api_urls; the root view stays the organisations'
router's, so this router has none.
"""

from appraisal import api, bulk_rating_api, results_api
from core.api import Router

router = Router()
router.include_root_view = False
router.register("periods", api.PeriodViewSet, basename="period")
router.register("sheets", api.SheetViewSet, basename="sheet")
router.register("lines", api.LineViewSet, basename="line")
# POST periods/{id}/ratings/bulk/: a rater's grid in one request (appraisal.bulk_rating_api).
router.register(r"periods/(?P<period_pk>[^/.]+)/ratings", bulk_rating_api.BulkRatingViewSet,
                basename="period-ratings")
router.register("results", results_api.ResultViewSet, basename="result")
router.register("appeals", results_api.AppealViewSet, basename="appeal")
router.register("jobs", results_api.JobViewSet, basename="job")
router.register("grading-policies", results_api.GradingPolicyViewSet, basename="grading-policy")

urlpatterns = router.urls
