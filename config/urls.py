from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from config.views import healthz
from organizations.admin import hr_admin_site

urlpatterns = [
    path("healthz/", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", hr_admin_site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("api/", include(("organizations.api_urls", "api"))),
    path("api/", include(("indicators.api_urls", "api-indicators"))),
    path("api/", include(("appraisal.api_urls", "api-appraisal"))),
    path("api/", include(("payroll.api_urls", "api-payroll"))),
    path("", include("indicators.urls")),
    path("", include("appraisal.urls")),
    path("", include("payroll.urls")),
    path("", include("organizations.urls")),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# The platform superuser's admin (all organisations) stays at Django's default site.
urlpatterns.insert(2, path("platform-admin/", admin.site.urls))
