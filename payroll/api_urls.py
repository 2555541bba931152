"""Routes of the pay API: policies, inputs, runs (slips, delta, confirm, exports), slips, pay jobs
(progress, download) and ``periods/{id}/pay-run/``.

Included under ``api/`` next to the other routers (namespace ``api-payroll``); the root view stays
the organisations' router's. The period action lives on its own viewset registered at "periods",
which has no list or detail routes, so it never shadows the appraisal router's periods.
"""

from rest_framework.routers import DefaultRouter

from payroll import api

router = DefaultRouter()
router.include_root_view = False
router.register("pay-policies", api.PayPolicyViewSet, basename="pay-policy")
router.register("pay-inputs", api.PayInputViewSet, basename="pay-input")
router.register("pay-runs", api.PayRunViewSet, basename="pay-run")
router.register("pay-slips", api.PaySlipViewSet, basename="pay-slip")
router.register("pay-jobs", api.PayJobViewSet, basename="pay-job")
router.register("periods", api.PayPeriodViewSet, basename="pay-period")

urlpatterns = router.urls
