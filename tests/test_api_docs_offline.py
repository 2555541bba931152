"""Swagger UI works without internet (issue #17, point 7): its bundles come from this site
(drf-spectacular-sidecar), not from a CDN."""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client

URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\(\s*["']?([^"')]+)""")


def test_it_serves_swagger_ui_without_any_external_host(client: Client, db: None) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    references = [a or b for a, b in URL.findall(html)]
    assert any("swagger-ui-bundle" in ref for ref in references)  # the bundle is referenced at all
    external = [ref for ref in references if ref.startswith(("http:", "https:", "//"))]
    assert external == []
    assert "cdn.jsdelivr.net" not in html
    assert "cdn.jsdelivr.net" not in response["Content-Security-Policy"]


def test_it_serves_the_swagger_bundle_from_this_site(client: Client, db: None) -> None:
    html = client.get("/api/docs/").content.decode()
    bundle = next(ref for ref in re.findall(r'src="([^"]+)"', html) if "swagger-ui-bundle" in ref)
    assert bundle.startswith(settings.STATIC_URL) or bundle.startswith("/" + settings.STATIC_URL)
    # A static file the project ships (collectstatic copies it; whitenoise serves it).
    assert finders.find(bundle.split(settings.STATIC_URL, 1)[1]) is not None
