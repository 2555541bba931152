from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """zh-Hans unless the user chose another language with the switch (the language cookie).

    Django's own middleware follows the browser's Accept-Language, which on a shared office PC or
    an English-language OS would show HR an English product they never asked for.
    """

    def process_request(self, request: HttpRequest) -> None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _ in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class ContentSecurityPolicyMiddleware:
    """Sends settings.CONTENT_SECURITY_POLICY with every response (or the policy of the first
    prefix of CONTENT_SECURITY_POLICY_PATHS the path starts with). Django 5.2 has no CSP support of
    its own (6.0 brings one); a header a view set itself is left alone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            policy = next(
                (policy for prefix, policy in settings.CONTENT_SECURITY_POLICY_PATHS.items()
                 if request.path.startswith(prefix)),
                settings.CONTENT_SECURITY_POLICY,
            )
            response["Content-Security-Policy"] = policy
        return response
