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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from django.utils.translation import get_language
from django.utils.translation import gettext as _gettext
from django.utils.translation import pgettext as _pgettext

T = TypeVar("T")

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


class PerLanguage(Generic[T]):
    """Explanation pieces that depend only on a component's config and the language (the phrase
    for each grade of a table, the text of each band …), built once per language while a policy is
    evaluated instead of once per person. ``build`` must not depend on anything else; outside
    ``cached_translations`` it runs on every call, as the phrases would without this cache.

    Give it a plain function or a functools.partial over the config, not a bound method of the
    kind: that would be a reference cycle."""

    __slots__ = ("_build", "_made")

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._made: dict[str, T] = {}  # by language; two threads building the same entry is harmless

    def get(self) -> T:
        language = getattr(_LOCAL, "language", None)
        if language is None:
            return self._build()
        found = self._made.get(language)
        if found is None:
            found = self._made[language] = self._build()
        return found
