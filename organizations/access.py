"""The one rule for fetching a single row a page or endpoint was asked for by id.

A row of another organisation and a row of this organisation the user may not see look the same
from outside: both are 404, never 403, so an id never confirms that something exists elsewhere.
The tenant scope removes other organisations' rows and the selector removes rows the user's
roles do not reach; this helper only names that combination so every caller uses it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404

M = TypeVar("M", bound=Model)


def get_visible_or_404(queryset: QuerySet[M], **lookup: Any) -> M:
    """``queryset`` must already be scoped and row-filtered (a selector's result): 404 if the row is not in it."""
    return get_object_or_404(queryset, **lookup)
