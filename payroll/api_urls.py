"""Routes of the pay API: policies, inputs, runs (slips, delta, confirm, exports), slips, pay jobs
(progress, download) and ``periods/{id}/pay-run/``.

Included under ``api/`` next to the other routers (namespace ``api-payroll``); the root view stays
the organisations' router's. The period action lives on its own viewset registered at "periods",
which has no list or detail routes, so it never shadows the appraisal router's periods.
"""

from django.urls import re_path

from core.api import Router, not_found
from payroll import api

router = Router()
router.include_root_view = False
router.register("pay-policies", api.PayPolicyViewSet, basename="pay-policy")
router.register("pay-inputs", api.PayInputViewSet, basename="pay-input")
router.register("pay-budgets", api.PayBudgetViewSet, basename="pay-budget")
router.register("pay-runs", api.PayRunViewSet, basename="pay-run")
router.register("pay-slips", api.PaySlipViewSet, basename="pay-slip")
router.register("pay-jobs", api.PayJobViewSet, basename="pay-job")
router.register("periods", api.PayPeriodViewSet, basename="pay-period")

# The last routes under api/ (config.urls includes this router after the others): any other path
# ending in a slash is a JSON 404, e.g. an id that is not a number (/api/people/0.5/), which no
# router's pattern matches. Without the slash Django still redirects to the slashed path first.
urlpatterns = [*router.urls, re_path(r"^.*/$", not_found, name="not-found")]
