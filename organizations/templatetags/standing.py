"""The person page's section of standing parameters (organizations.standing), so the person view
stays as it is: ``{% standing_parameters person %}`` lists the person's values, in force and past,
for those who may see them (HR and finance), with add and end for those who may change them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone

from organizations import standing_selectors
from organizations.models import Person
from organizations.permissions import can

register = template.Library()


@register.inclusion_tag("organizations/_standing_parameters.html", takes_context=True)
def standing_parameters(context: template.Context, person: Person) -> dict[str, Any]:
    tenant = context.get("tenant")
    if not can(tenant, "standing_parameter", "view"):
        return {"shown": False}
    today: dt.date = timezone.localdate()
    rows = list(standing_selectors.of_person(person))
    return {"shown": True, "person": person, "rows": rows, "today": today,
            "may_change": can(tenant, "standing_parameter", "change")}
