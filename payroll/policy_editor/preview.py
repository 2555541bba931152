"""The live preview: one person's pay lines under the DRAFT, on a period with results, as a pay run
would compute them (payroll.services.pay_people, the draft taking the place of the policy of its
code or department type as in the what-if: payroll.whatif.candidate_pay_policies). Nothing is
saved; a fixed number of queries whatever the head count (everyone of the period is computed, as
group components need the others)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from appraisal.models import Period, Result
from core.configs import ConfigError
from indicators.models import SubjectKind
from organizations.models import Organization
from payroll import services
from payroll.engine import PayLine
from payroll.models import PayPolicy
from payroll.standard import organisation_names
from payroll.whatif import candidate_pay_policies

PERIODS_OFFERED = 24
PEOPLE_OFFERED = 500
_COMPONENT = re.compile(r"^components\[(\d+)\]")


@dataclass(frozen=True)
class PersonChoice:
    pk: int
    label: str
    selected: bool


@dataclass
class Preview:
    period: Period | None = None
    people: list[PersonChoice] = field(default_factory=list)
    subject: str = ""
    lines: list[PayLine] = field(default_factory=list)
    total: Decimal | None = None
    error: str = ""
    note: str = ""


def periods() -> QuerySet[Period]:
    """The periods a preview can be computed on: those with results, newest first."""
    return Period.objects.filter(results_at__isnull=False).order_by("-start", "-pk")[:PERIODS_OFFERED]


def people(period: Period, chosen: int | None) -> list[PersonChoice]:
    rows = list(Result.objects.filter(period=period, subject_kind=SubjectKind.PERSON, person__isnull=False)
                .order_by("person__employee_no").values_list("person_id", "person__employee_no", "person__name")
                [:PEOPLE_OFFERED])
    if chosen not in {pk for pk, _no, _name in rows}:
        chosen = rows[0][0] if rows else None
    return [PersonChoice(pk, f"{number} {name}", pk == chosen) for pk, number, name in rows]


def draft_policy(organization: Organization, values: Mapping[str, Any]) -> PayPolicy:
    """The draft as an unsaved PayPolicy (no id, version 0): what the pay run reads of a policy."""
    return PayPolicy(organization=organization, version=0, **values)


def _refusal(values: Mapping[str, Any], error: ConfigError) -> str:
    found = _COMPONENT.match(error.field)
    components = values.get("components") or []
    if found is not None and int(found[1]) < len(components):
        component = components[int(found[1])]
        return _("Component %(number)s (%(code)s): %(message)s") % {
            "number": int(found[1]) + 1, "code": component.get("name") or component.get("code"),
            "message": error.message}
    return error.message


def preview(organization: Organization, period: Period, person_id: int | None,
            values: Mapping[str, Any]) -> Preview:
    """``values`` (PolicyEditor.values()) applied to the period for the chosen person (default: the
    first): their lines and total, or why there are none."""
    result = Preview(period=period, people=people(period, person_id))
    chosen = next((person.pk for person in result.people if person.selected), None)
    if chosen is None:
        result.note = _("No one has a result in this period.")
        return result
    draft = draft_policy(organization, values)
    try:
        draft.compiled(organisation_names(organization.pk))
        policies = candidate_pay_policies(period, draft)
        rows, pays, notes = services.pay_people(period, policies)
    except ConfigError as error:
        result.error = _refusal(values, error)
        return result
    except services.PayRunFailed as error:
        result.error = str(error)
        return result
    row = next((row for row in rows if row.person_id == chosen), None)
    subject = next(person.label for person in result.people if person.selected)
    result.subject = subject
    if row is None:
        result.note = next((note for note in notes if note.startswith(subject)),
                           _("%(subject)s is not paid in this period.") % {"subject": subject})
        return result
    if row.policy.pk is not None:
        result.note = _("%(subject)s is paid by pay policy %(policy)s, not by this draft: its department type is "
                        "another.") % {"subject": subject, "policy": row.policy}
    pay = pays[chosen]
    result.lines, result.total = list(pay.lines), pay.total
    return result
