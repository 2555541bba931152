"""Routes of the indicators API: the indicator catalogue (with benchmarks) and templates.

Included under ``api/`` next to the other routers (namespace ``api-indicators``); the root view
stays the organisations' router's, so this router has none.
"""

from core.api import Router
from indicators import api

router = Router()
router.include_root_view = False
router.register("indicators", api.IndicatorViewSet, basename="indicator")
router.register("benchmarks", api.BenchmarkViewSet, basename="benchmark")
router.register("templates", api.TemplateViewSet, basename="template")

urlpatterns = router.urls
