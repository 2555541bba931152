"""What an upheld appeal against a line changes: the data the line is scored from, never a typed
total. The line is rescored from it, and its sheet with it (appraisal.services), as an entry on the
sheet page would be; appraisal.appeals turns the sheet's new score into the result's.

What the decider edits follows how the line is scored, with the inputs the sheet page offers:

* ``values``: a line scored from its own data (completion, bands, formula, a rating or an
  acceptance entered as data): the target, the actual, the named inputs, the rating label,
  accepted and the round, whichever the line's method uses (appraisal.forms.data_fields);
* ``records``: a deduction or bonus line: its recorded occurrences; a record's count changes
  (0 removes it) and a missing occurrence is added (item, count, date, evidence);
* ``ratings``: a rated line: a rater's rating is replaced (a label of the scale, or a value).

:func:`apply_line_change` checks the change against the line (DecisionDataRefused names the field
that does not fit), writes it with audit rows whose reason is the decision, rescores the line
and the sheet, and returns what changed, old → new. The appeal keeps that (Appeal.line_change)
for the employee's page: :func:`describe` turns it into rows in the reader's language.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from appraisal.forms import INPUT_PREFIX, data_fields, record_items, scale_labels, shown, takes_records
from appraisal.models import DeductionRecord, Rater, Rating, SheetLine
from appraisal.services import line_input, lock_sheet, rescore_sheets, score_line
from core.numbers import quantize
from indicators import scoring
from indicators.models import LineSource, RaterRole
from organizations.models import User

VALUES, RATINGS, RECORDS = "values", "ratings", "records"
VALUE_FIELDS = ("target", "actual", "rating", "accepted", "acceptance_round")


class DecisionDataRefused(ValueError):
    """What a decision gives does not fit the appeal: the line's new data does not fit the line, or
    a score is given for a line (or missing for the grade). ``field`` names what: a value
    ("actual", "rating"), a named input ("inputs.coal"), "ratings", "records", "add_records",
    "new_score", or "line_data" for the line's data as a whole."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class RatingChange:
    """A rater's new rating of a rated line: a label of the scale, or a value."""

    rater_id: int
    rating: str = ""
    value: Decimal | None = None


@dataclass(frozen=True)
class NewRecord:
    """An occurrence of a deduction or bonus item that should have been recorded."""

    item_code: str
    count: int
    occurred_on: dt.date
    evidence: str = ""


@dataclass(frozen=True)
class LineChange:
    """The line's new data. ``values``: line fields (VALUE_FIELDS); ``inputs``: named inputs, None
    removes one; ``records``: record id → its new count, 0 removes it."""

    values: Mapping[str, Any] = field(default_factory=dict)
    inputs: Mapping[str, Decimal | None] = field(default_factory=dict)
    ratings: Sequence[RatingChange] = ()
    records: Mapping[int, int] = field(default_factory=dict)
    add_records: Sequence[NewRecord] = ()

    def empty(self) -> bool:
        return not (self.values or self.inputs or self.ratings or self.records or self.add_records)


@dataclass(frozen=True)
class LineOutcome:
    """What the change did: the entries old → new (see :func:`describe`), and the line's and the
    sheet's scores before and after."""

    kind: str
    changes: list[dict[str, str]]
    line_score: tuple[Decimal | None, Decimal]
    sheet_score: tuple[Decimal | None, Decimal]

    def record(self, line: SheetLine) -> dict[str, Any]:
        """As Appeal.line_change keeps it (JSON: numbers as text)."""
        return {"line": line.pk, "indicator": line.indicator.name, "kind": self.kind, "changes": self.changes,
                "line_score": [score_text(v) for v in self.line_score],
                "sheet_score": [score_text(v) for v in self.sheet_score]}


def line_kind(line: SheetLine) -> str:
    """How the line is scored, hence what a decision edits: VALUES, RATINGS or RECORDS."""
    if line.source == LineSource.RATERS:
        return RATINGS
    return RECORDS if takes_records(line) else VALUES


def value_labels(line: SheetLine) -> tuple[dict[str, str], dict[str, str]]:
    """The labels of the values and of the named inputs a VALUES line's method uses."""
    values: dict[str, str] = {}
    inputs: dict[str, str] = {}
    for entry in data_fields(line):
        if entry.name.startswith(INPUT_PREFIX):
            inputs[entry.name[len(INPUT_PREFIX):]] = entry.label
        else:
            values[entry.name] = entry.label
    return values, inputs


def apply_line_change(*, line: SheetLine, change: LineChange, acting_user: User | None,
                      reason: str) -> LineOutcome:
    """Writes the line's new data, then rescores the line and its sheet. Runs inside the caller's
    transaction (the appeal's decision): a refusal raised here undoes everything."""
    lock_sheet(line.sheet_id)
    line = SheetLine.objects.select_for_update(of=("self",)).select_related(
        "indicator", "sheet__period", "sheet__person", "sheet__team", "sheet__department").get(pk=line.pk)
    kind = line_kind(line)
    _check_kind(line, change, kind)
    if change.empty():
        raise DecisionDataRefused("line_data", _("Enter the line's new data: an upheld appeal against a line changes "
                                             "what the line is scored from."))
    before = (line.score, line.sheet.score)
    apply: dict[str, Callable[..., list[dict[str, str]]]] = {
        VALUES: _apply_values, RATINGS: _apply_ratings, RECORDS: _apply_records}
    changes = apply[kind](line, change, acting_user=acting_user, reason=reason)
    if not changes:
        raise DecisionDataRefused("line_data", _("This is the line's current data: nothing would change. Enter the new "
                                             "data, or reject the appeal."))
    score_line(line, ratings=None, occurrences=None)
    if line.score is None:
        raise DecisionDataRefused("line_data", _("%(indicator)s cannot be scored with this data: %(why)s")
                              % {"indicator": line.indicator.name, "why": line.explanation})
    _audit(line, acting_user, reason)
    line.save()
    sheet = rescore_sheets(sheet_ids=[line.sheet_id], acting_user=acting_user, reason=reason)[line.sheet_id]
    if sheet.score is None:
        raise DecisionDataRefused("line_data", sheet.explanation)
    return LineOutcome(kind=kind, changes=changes, line_score=(before[0], line.score),
                       sheet_score=(before[1], sheet.score))


def current_data(line: SheetLine) -> dict[str, Any]:
    """What a decision may change on the line, as it stands now, in the shape the API's
    ``line_data`` takes (numbers as text): the values and named inputs its method uses; each
    rater's rating; or the recorded occurrences and the items that may be recorded."""
    data: dict[str, Any] = {"kind": line_kind(line), "indicator": line.indicator.name,
                            "score": score_text(line.score)}
    if data["kind"] == VALUES:
        labels, inputs = value_labels(line)
        for name in labels:
            value = getattr(line, name)
            data[name] = shown(value) if isinstance(value, Decimal) else value
        if inputs:
            stored = line.inputs or {}
            data["inputs"] = {name: None if stored.get(name) is None else shown(Decimal(str(stored[name])))
                              for name in inputs}
    elif data["kind"] == RATINGS:
        given = {r.rater_id: r for r in Rating.objects.filter(line=line)}
        data["ratings"] = [
            {"rater": rater.pk, "role": rater.role, "who": rater_who(rater), "recused": rater.recused,
             "rating": given[rater.pk].rating if rater.pk in given else "",
             "value": shown(given[rater.pk].actual) if rater.pk in given and given[rater.pk].actual is not None
             else None}
            for rater in Rater.objects.filter(sheet_id=line.sheet_id).select_related("person", "department")
            .order_by("role", "pk")]
        if line.method == scoring.Method.RATING:
            data["scale"] = scale_labels(line.config)
    else:
        items = dict(record_items(line.config))
        data["records"] = [{"id": r.pk, "item_code": r.item_code, "item": items.get(r.item_code, r.item_code),
                            "count": r.count, "occurred_on": r.occurred_on.isoformat(), "evidence": r.evidence}
                           for r in DeductionRecord.objects.filter(line=line).order_by("occurred_on", "pk")]
        data["items"] = [{"code": code, "name": name} for code, name in items.items()]
    return data


# --- checks and writes per kind -----------------------------------------------------------------


def _check_kind(line: SheetLine, change: LineChange, kind: str) -> None:
    """Refuses data of another kind of line, naming the first field that does not fit."""
    given = {"values": list(change.values), "inputs": [f"inputs.{n}" for n in change.inputs],
             "ratings": ["ratings"] if change.ratings else [], "records": ["records"] if change.records else [],
             "add_records": ["add_records"] if change.add_records else []}
    allowed = {VALUES: ("values", "inputs"), RATINGS: ("ratings",), RECORDS: ("records", "add_records")}[kind]
    wrong = [name for group, names in given.items() if group not in allowed for name in names]
    if not wrong:
        return
    name = line.indicator.name
    if kind == RATINGS:
        message = _("%(indicator)s is scored by its raters: change a rater's rating.") % {"indicator": name}
    elif kind == RECORDS:
        message = _("%(indicator)s is scored from recorded occurrences: change a record's count or add a record."
                    ) % {"indicator": name}
    else:
        labels, inputs = value_labels(line)
        message = _("%(indicator)s is scored from its values: %(fields)s.") % {
            "indicator": name, "fields": "、".join([*labels.values(), *inputs.values()]) or "—"}
    raise DecisionDataRefused(wrong[0], message)


def score_text(value: Decimal | None) -> str:
    """A score as the appeal keeps it: two decimals (70.00), none as ""."""
    return "" if value is None else str(quantize(value))


def _audit(row: Any, acting_user: User | None, reason: str) -> None:
    row._history_user = acting_user
    row._change_reason = reason


def _text(value: Any) -> str:
    """A value as the appeal keeps it: numbers plainly (70, not 70.0000), none as ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return shown(value)
    return str(value)


def _check_values(line: SheetLine, change: LineChange) -> None:
    labels, inputs = value_labels(line)
    fields = "、".join([*labels.values(), *inputs.values()]) or "—"
    for name, value in change.values.items():
        if name not in labels:
            raise DecisionDataRefused(name, _("%(indicator)s does not use this value; it takes %(fields)s.")
                                  % {"indicator": line.indicator.name, "fields": fields})
        if name == "rating" and value and value not in scale_labels(line.config):
            raise DecisionDataRefused(name, _("%(value)s is not on the scale.") % {"value": value})
        if name == "acceptance_round" and value is not None and value < 1:
            raise DecisionDataRefused(name, _("The round is 1 or more."))
    for name in change.inputs:
        if name not in inputs:
            raise DecisionDataRefused(f"inputs.{name}", _("%(indicator)s does not use this value; it takes %(fields)s.")
                                  % {"indicator": line.indicator.name, "fields": fields})


def _apply_values(line: SheetLine, change: LineChange, **_audit_args: Any) -> list[dict[str, str]]:
    _check_values(line, change)
    changes = []
    for name, value in change.values.items():
        old = getattr(line, name)
        if old != value:
            changes.append({"kind": "value", "name": name, "old": _text(old), "new": _text(value)})
            setattr(line, name, value)
    if change.inputs:
        merged = dict(line.inputs or {})
        for name, value in change.inputs.items():
            old = merged.get(name)
            if (None if old is None else Decimal(str(old))) != value:
                changes.append({"kind": "input", "name": name, "old": _text(None if old is None else Decimal(str(old))),
                                "new": _text(value)})
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = str(value)
        line.inputs = merged
    if changes:
        line.version += 1  # the line's data changed: a page holding the old version must reload
    return changes


def rater_who(rater: Rater) -> str:
    """Who a rater is: the person, or the rating department."""
    if rater.person is not None:
        return rater.person.name
    return rater.department.name if rater.department is not None else ""


def _apply_ratings(line: SheetLine, change: LineChange, *, acting_user: User | None,
                   reason: str) -> list[dict[str, str]]:
    raters = {r.pk: r for r in Rater.objects.filter(sheet_id=line.sheet_id).select_related("person", "department")}
    current = {r.rater_id: r for r in Rating.objects.filter(line=line)}
    scale = scale_labels(line.config) if line.method == scoring.Method.RATING else None
    changes = []
    for given in change.ratings:
        rater = raters.get(given.rater_id)
        if rater is None:
            raise DecisionDataRefused("ratings", _("Rater %(id)s does not rate this sheet.") % {"id": given.rater_id})
        if rater.recused:
            raise DecisionDataRefused("ratings", _("%(rater)s is recused from this sheet: %(reason)s.")
                                  % {"rater": rater_who(rater), "reason": rater.recusal_reason})
        if scale is not None and given.rating not in scale:
            raise DecisionDataRefused("ratings", _("%(value)s is not on the scale.") % {"value": given.rating or "—"})
        if not given.rating and given.value is None:
            raise DecisionDataRefused("ratings", _("Give a rating or a value."))
        try:
            points = scoring.score(line.method, line.config,
                                   line_input(line, rating=given.rating or None, actual=given.value)).points
        except (scoring.ScoringError, scoring.ConfigError) as error:
            raise DecisionDataRefused("ratings", str(error)) from None
        record = current.get(rater.pk)
        old = "" if record is None else record.rating or _text(record.actual)
        if record is not None and (record.rating, record.actual) == (given.rating, given.value):
            continue
        if record is None:
            record = Rating(organization_id=line.organization_id, line=line, rater=rater, version=0)
        record.rating, record.actual, record.score = given.rating, given.value, points
        record.version += 1
        _audit(record, acting_user, reason)
        record.save()
        changes.append({"kind": "rating", "name": rater.role, "who": rater_who(rater), "old": old,
                        "new": given.rating or _text(given.value)})
    return changes


def _apply_records(line: SheetLine, change: LineChange, *, acting_user: User | None,
                   reason: str) -> list[dict[str, str]]:
    records = {r.pk: r for r in DeductionRecord.objects.filter(line=line)}
    items = dict(record_items(line.config))
    changes = []
    for pk, count in change.records.items():
        record = records.get(pk)
        if record is None:
            raise DecisionDataRefused("records", _("Record %(id)s is not recorded on %(indicator)s.")
                                  % {"id": pk, "indicator": line.indicator.name})
        if count < 0:
            raise DecisionDataRefused("records", _("A count is 0 (the record is removed) or more."))
        if count == record.count:
            continue
        changes.append({"kind": "record", "name": record.item_code, "item": items.get(record.item_code, ""),
                        "date": record.occurred_on.isoformat(), "old": str(record.count), "new": str(count)})
        _audit(record, acting_user, reason)
        if count == 0:
            record.delete()
        else:
            record.count = count
            record.save()
    for new in change.add_records:
        record = _new_record(line, new, items)
        _audit(record, acting_user, reason)
        record.save()
        changes.append({"kind": "record", "name": record.item_code, "item": items[record.item_code],
                        "date": record.occurred_on.isoformat(), "old": "0", "new": str(record.count)})
    return changes


def _new_record(line: SheetLine, new: NewRecord, items: dict[str, str]) -> DeductionRecord:
    period = line.sheet.period
    if new.item_code not in items:
        raise DecisionDataRefused("add_records", _("Unknown item %(code)s for %(indicator)s.")
                              % {"code": new.item_code, "indicator": line.indicator.name})
    if new.count < 1:
        raise DecisionDataRefused("add_records", _("A new record counts 1 or more."))
    if not period.start <= new.occurred_on <= period.end:
        raise DecisionDataRefused("add_records", _("The date %(date)s is outside the period %(start)s to %(end)s.")
                              % {"date": new.occurred_on.isoformat(), "start": period.start.isoformat(),
                                 "end": period.end.isoformat()})
    if line.indicator.evidence_required and not new.evidence.strip():
        raise DecisionDataRefused("add_records", _("%(indicator)s requires evidence for every record.")
                              % {"indicator": line.indicator.name})
    return DeductionRecord(organization_id=line.organization_id, line=line, item_code=new.item_code,
                           count=new.count, occurred_on=new.occurred_on, evidence=new.evidence.strip())


# --- what the employee reads ----------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeRow:
    label: str
    old: str
    new: str


def _value_label(name: str) -> str:
    return {"target": _("Target"), "actual": _("Actual"), "rating": _("Rating"), "accepted": _("Accepted"),
            "acceptance_round": _("Round")}.get(name, name)


def _shown(entry: Mapping[str, str], side: str) -> str:
    value = entry.get(side, "")
    if entry.get("name") == "accepted" and value in ("yes", "no"):
        return _("Yes") if value == "yes" else _("No")
    if entry.get("kind") == "record" and value == "0":
        return _("none")
    return value or "—"


def describe(line_change: Mapping[str, Any]) -> list[ChangeRow]:
    """The rows of an appeal's change to a line, labelled in the reader's language: each value,
    rating or record old → new, then the line's score."""
    rows = []
    for entry in line_change.get("changes", []):
        kind = entry.get("kind")
        if kind == "value":
            label = _value_label(entry["name"])
        elif kind == "rating":
            role = RaterRole(entry["name"]).label if entry["name"] in RaterRole.values else entry["name"]
            label = f"{role} · {entry['who']}" if entry.get("who") else str(role)
        elif kind == "record":
            label = f"{entry.get('item') or entry['name']} · {entry.get('date', '')}"
        else:
            label = entry.get("name", "")
        rows.append(ChangeRow(label, _shown(entry, "old"), _shown(entry, "new")))
    old, new = (line_change.get("line_score") or ["", ""])[:2]
    rows.append(ChangeRow(_("Score"), old or "—", new or "—"))
    return rows
