"""Template filters that show the catalogue's keys by their labels.

    {% load indicator_labels %}
    {{ indicator.method|method_label }}     完成率   (a scoring method, indicators.scoring.Method)
"""

from __future__ import annotations

from django import template

from indicators import scoring

register = template.Library()


@register.filter
def method_label(method: str) -> str:
    return str(scoring.Method(method).label) if method in scoring.Method.values else str(method)
