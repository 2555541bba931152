"""Forms of the appeal pages: the employee's appeal (against the grade or one line), and the
decider's form for an appeal against a line, one per way the line is scored, with the line's
current data filled in (appraisal.appeal_lines says what each kind edits):

* values: the inputs the sheet page offers for the line's method (target, actual, named inputs,
  the rating label, accepted and the round), posted under the same names;
* ratings: one field per rater who is not recused, ``rating-<rater id>``: a label of the scale, or
  a value;
* records: one count per recorded occurrence, ``record-<record id>`` (0 removes it), and the
  fields of an occurrence to add, ``add-item_code``, ``add-count``, ``add-occurred_on``,
  ``add-evidence``.

:func:`parse_decision` reads what was posted into an appeal_lines.LineChange; what does not fit the
line beyond its type (a value the method does not use, a date outside the period) the service
refuses, naming the field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appraisal.appeal_lines import RATINGS, RECORDS, VALUE_FIELDS, LineChange, NewRecord, RatingChange, current_data
from appraisal.forms import INPUT_PREFIX, data_fields, parse_line_data
from appraisal.models import SheetLine
from indicators.models import RaterRole

_VALUE = forms.DecimalField(max_digits=18, decimal_places=4)
_COUNT = forms.IntegerField(min_value=0, max_value=1000)
_NEW_COUNT = forms.IntegerField(min_value=1, max_value=1000)
_DATE = forms.DateField(input_formats=["%Y-%m-%d"])


class AppealForm(forms.Form):
    """The employee's appeal: against the grade or one line of their sheet, with a reason."""

    line = forms.TypedChoiceField(label=gettext_lazy("Against"), required=False, coerce=int, empty_value=None)
    reason = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 3}))
    attachment = forms.FileField(label=gettext_lazy("Attachment"), required=False,
                                 max_length=100, allow_empty_file=False)

    def __init__(self, *args: Any, lines: list[SheetLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("The grade"))] + [(str(line.pk), line.indicator.name) for line in lines]
        line_field = self.fields["line"]
        assert isinstance(line_field, forms.TypedChoiceField)
        line_field.choices = choices


@dataclass(frozen=True)
class Field:
    """One input of a decision form. ``kind``: number, integer, select, date or text."""

    name: str
    label: str
    kind: str
    value: str
    choices: tuple[tuple[str, str], ...] = ()
    help: str = ""


@dataclass(frozen=True)
class LineDecisionForm:
    """What the decider sees of the appealed line and may change in it."""

    kind: str
    score: str
    fields: list[Field]
    add_fields: list[Field] = field(default_factory=list)  # a record to add (records lines)


def rater_label(role: str, who: str) -> str:
    label = str(RaterRole(role).label) if role in RaterRole.values else role
    return f"{label} · {who}" if who else label


def decision_form(line: SheetLine) -> LineDecisionForm:
    """The form of an upheld appeal against ``line``, filled with its current data."""
    data = current_data(line)
    if data["kind"] == RATINGS:
        fields = [_rating_field(entry, data.get("scale")) for entry in data["ratings"] if not entry["recused"]]
        return LineDecisionForm(RATINGS, data["score"], fields)
    if data["kind"] == RECORDS:
        fields = [Field(f"record-{r['id']}", f"{r['item']} · {r['occurred_on']}", "integer", str(r["count"]),
                        help=_("0 removes the record.")) for r in data["records"]]
        items = tuple((i["code"], i["name"]) for i in data["items"])
        add = [Field("add-item_code", _("Item to add"), "select", "", choices=(("", _("Choose")), *items)),
               Field("add-count", _("count"), "integer", "1"),
               Field("add-occurred_on", _("date"), "date", ""),
               Field("add-evidence", _("Evidence"), "text", "")]
        return LineDecisionForm(RECORDS, data["score"], fields, add)
    fields = [Field(f.name, f.label, f.kind, f.value, f.choices) for f in data_fields(line)]
    return LineDecisionForm(data["kind"], data["score"], fields)


def _rating_field(entry: dict[str, Any], scale: list[str] | None) -> Field:
    name, label = f"rating-{entry['rater']}", rater_label(entry["role"], entry["who"])
    if scale is not None:
        return Field(name, label, "select", entry["rating"], choices=(("", "—"), *((s, s) for s in scale)))
    return Field(name, label, "number", entry["value"] or "")


def parse_decision(line: SheetLine, posted: QueryDict) -> tuple[LineChange, list[str]]:
    """The line's new data as posted, and the problems with it (a field that is not a number …)."""
    data = current_data(line)
    if data["kind"] == RATINGS:
        return _parse_ratings(data, posted)
    if data["kind"] == RECORDS:
        return _parse_records(data, posted)
    changes, problems = parse_line_data(line, posted)
    inputs: dict[str, Decimal | None] = {}
    if "inputs" in changes:
        old, new = line.inputs or {}, changes["inputs"]
        for entry in data_fields(line):
            name = entry.name[len(INPUT_PREFIX):]
            if entry.name.startswith(INPUT_PREFIX) and old.get(name) != new.get(name):
                inputs[name] = None if new.get(name) is None else Decimal(str(new[name]))
    values = {name: value for name, value in changes.items() if name in VALUE_FIELDS}
    return LineChange(values=values, inputs=inputs), problems


def _parse_ratings(data: dict[str, Any], posted: QueryDict) -> tuple[LineChange, list[str]]:
    changes, problems = [], []
    for entry in data["ratings"]:
        raw = posted.get(f"rating-{entry['rater']}", "").strip()
        if entry["recused"] or not raw or raw in (entry["rating"], entry["value"]):
            continue
        if data.get("scale") is not None:
            changes.append(RatingChange(entry["rater"], rating=raw))
            continue
        try:
            changes.append(RatingChange(entry["rater"], value=_VALUE.clean(raw)))
        except forms.ValidationError as error:
            problems.append(f"{rater_label(entry['role'], entry['who'])}: {' '.join(error.messages)}")
    return LineChange(ratings=changes), problems


def _parse_records(data: dict[str, Any], posted: QueryDict) -> tuple[LineChange, list[str]]:
    counts: dict[int, int] = {}
    problems: list[str] = []
    for record in data["records"]:
        raw = posted.get(f"record-{record['id']}", "").strip()
        if not raw:
            continue
        try:
            count = _COUNT.clean(raw)
        except forms.ValidationError as error:
            problems.append(f"{record['item']} · {record['occurred_on']}: {' '.join(error.messages)}")
            continue
        if count != record["count"]:
            counts[record["id"]] = count
    added: list[NewRecord] = []
    item = posted.get("add-item_code", "").strip()
    if item:
        try:
            count = _NEW_COUNT.clean(posted.get("add-count", "").strip() or "1")
            day: dt.date = _DATE.clean(posted.get("add-occurred_on", "").strip())
        except forms.ValidationError as error:
            problems.append(f"{_('Item to add')}: {' '.join(error.messages)}")
        else:
            added.append(NewRecord(item, count, day, posted.get("add-evidence", "").strip()))
    return LineChange(records=counts, add_records=added), problems
