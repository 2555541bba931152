"""Translated phrases for set-based work: each phrase looked up once per language.

Scoring a line, grading a subject and paying a component each need a handful of translated
phrases for their explanations. Django's gettext costs about a microsecond a call (a thread-local
lookup of the active catalogue), which at 100,000 people × several phrases is seconds of a
close. Inside :func:`cached_translations` the functions below remember each phrase per language;
outside it they are Django's own. They keep the names ``_`` and ``pgettext`` so that
makemessages finds the strings of the modules that import them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.utils.translation import get_language
from django.utils.translation import gettext as _gettext
from django.utils.translation import pgettext as _pgettext

_LOCAL = threading.local()
# Keyed by language, so a cache filled in one language never answers in another; the catalogues
# do not change while the process runs.
_CACHE: dict[tuple[str, str, str], str] = {}


def _(message: str) -> str:
    language = getattr(_LOCAL, "language", None)
    if language is None:
        return _gettext(message)
    key = (language, "", message)
    found = _CACHE.get(key)
    if found is None:
        found = _CACHE[key] = _gettext(message)
    return found


def pgettext(context: str, message: str) -> str:
    language = getattr(_LOCAL, "language", None)
    if language is None:
        return _pgettext(context, message)
    key = (language, context, message)
    found = _CACHE.get(key)
    if found is None:
        found = _CACHE[key] = _pgettext(context, message)
    return found


@contextmanager
def cached_translations() -> Iterator[None]:
    """Translate each phrase once, in the language active now, until the block ends. Nests."""
    previous = getattr(_LOCAL, "language", None)
    _LOCAL.language = get_language() or ""
    try:
        yield
    finally:
        _LOCAL.language = previous
