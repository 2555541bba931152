"""Template filters that show the pay engine's keys by their labels (payroll.labels).

    {% load pay_labels %}
    {{ component.kind|kind_label }}     等级系数
    {{ input.name|input_label }}        基本工资
    {{ run.reason|run_reason }}         考核汇总定级后系统自动计算
    {{ line.explanation|pay_explained }}  the engine's explanation, input names as labels
"""

from __future__ import annotations

from django import template

from payroll import labels

register = template.Library()


@register.filter
def kind_label(kind: str) -> str:
    return labels.kind_label(str(kind))


@register.filter
def input_label(name: str) -> str:
    return labels.input_label(str(name))


@register.filter
def run_reason(reason: str) -> str:
    return labels.run_reason(str(reason))


@register.filter
def pay_explained(text: str) -> str:
    return labels.explained(str(text or ""))
