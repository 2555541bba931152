"""Writes of standing parameters (organizations.standing): set a value from a date, end one.

Same rules as organizations.services: keyword-only ``acting_user``, the model's ``full_clean``,
nothing written when nothing changes, an audit row (django-simple-history) for every change.

Setting a value from a date keeps the ranges of one name of one person or department apart:

* a value already starting that day is changed in place;
* the value in force that day ends the day before (its later part is replaced);
* the new value runs until the day before the next value already entered, else open-ended.

Setting the value already in force is no change: nothing is written.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from core.audit import audited_save
from organizations.models import Department, Organization, Person, User
from organizations.standing import StandingParameter

ONE_DAY = dt.timedelta(days=1)


def _subject(person: Person | None, department: Department | None) -> dict[str, Any]:
    if (person is None) == (department is None):
        raise ValidationError({"person": _("Give either a person or a department.")})
    return {"person": person} if person is not None else {"department": department}


@transaction.atomic
def set_standing_parameter(
    *, organization: Organization, acting_user: User | None, name: str, value: Decimal, effective_from: dt.date,
    person: Person | None = None, department: Department | None = None, reason: str = "",
) -> StandingParameter:
    """The value of parameter ``name`` of a person or a department from ``effective_from`` on
    (see the module's rules); raises ValidationError naming the field."""
    subject = _subject(person, department)
    rows = list(StandingParameter.objects.select_for_update().filter(name=name, **subject).order_by("effective_from"))
    same_day = next((row for row in rows if row.effective_from == effective_from), None)
    if same_day is not None:
        if same_day.value == value:
            return same_day
        same_day.value = value
        audited_save(same_day, acting_user=acting_user, reason=reason or "updated")
        return same_day
    before = [row for row in rows if row.effective_from < effective_from]
    in_force = before[-1] if before and (before[-1].effective_to is None
                                         or before[-1].effective_to >= effective_from) else None
    later = [row for row in rows if row.effective_from > effective_from]
    if in_force is not None and in_force.value == value and not later:
        return in_force
    created = StandingParameter(organization=organization, name=name, value=value, effective_from=effective_from,
                                effective_to=later[0].effective_from - ONE_DAY if later else None, **subject)
    created.full_clean()  # before anything is written: a bad name or value changes nothing
    if in_force is not None:
        in_force.effective_to = effective_from - ONE_DAY
        audited_save(in_force, acting_user=acting_user, reason=reason or "replaced")
    audited_save(created, acting_user=acting_user, reason=reason or "created")
    return created


@transaction.atomic
def end_standing_parameter(*, parameter: StandingParameter, acting_user: User | None, effective_to: dt.date,
                           reason: str = "") -> StandingParameter:
    """The value stops being in force after ``effective_to`` (included); not before it starts."""
    current = StandingParameter.objects.select_for_update().get(pk=parameter.pk)
    if current.effective_to == effective_to:
        return current
    if effective_to < current.effective_from:
        raise ValidationError({"effective_to": _("The end date is before the start date.")})
    following = StandingParameter.objects.filter(
        Q(person_id=current.person_id) if current.person_id else Q(department_id=current.department_id),
        name=current.name, effective_from__gt=current.effective_from).order_by("effective_from").first()
    if following is not None and effective_to >= following.effective_from:
        raise ValidationError({"effective_to": _("A later value starts on %(date)s: end this one before it.")
                               % {"date": following.effective_from.isoformat()}})
    current.effective_to = effective_to
    audited_save(current, acting_user=acting_user, reason=reason or "ended")
    return current
