"""The template editor's live preview: the draft template (the editor's form data, built in memory
by indicators.services.draft_template, never saved) applied to one real sheet's recorded data.

The sheet keeps its data — actuals, inputs, targets, ratings, recorded deductions — and the draft
decides the structure: which lines count and in which part, their full marks and source, the parts'
weights, full marks and caps, the base score, the rounding and the raters' weights. The lines and
the sheet are scored by the functions the close uses (appraisal.services.scoring: score_line,
combine_ratings_raw, score_sheet), on the rows rescoring reads (LineRow). Four queries read the
sheet's data, whatever the size of the template or the sheet; nothing is written.

A sheet line follows the draft line of the same indicator (in the same part when the indicator is in
two); a line the draft no longer has is left out; a draft line the sheet has no line for has no data
here and scores nothing. Work items added to one sheet follow their part while it still takes lines
per sheet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Case, IntegerField, Sum, TextField, Value, When
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from appraisal.models import DeductionRecord, Period, Rater, Rating, Sheet, SheetLine, SpecialStatus
from appraisal.services.scoring import LineRow, RaterRow, RatingRow, combine_ratings_raw, score_line, score_sheet
from indicators.api import TemplateSpecSerializer, flatten_errors
from indicators.editors.template import ROWS, TemplateEditor
from indicators.models import LineSource, Template, TemplateLine, TemplatePart
from indicators.services import TemplateDraft, draft_template
from organizations.models import Organization

PERIODS_OFFERED = 3
SHEETS_PER_PERIOD = 100

KEPT, ADDED, REMOVED = "kept", "added", "removed"


# --- which sheets to offer --------------------------------------------------------------------


def sheet_choices(template: Template | None) -> list[tuple[str, list[tuple[int, str]]]]:
    """Sheets to try the draft on, grouped by period, newest first: the sheets of this template
    (any of its versions) in opened periods; for a new template, or one no sheet uses yet, any
    sheet of the opened periods. Scored sheets first. One query per period offered."""
    sheets = Sheet.objects.exclude(period__state=Period.State.DRAFT)
    if template is not None and sheets.filter(template__code=template.code).exists():
        sheets = sheets.filter(template__code=template.code)
    periods = Period.objects.filter(pk__in=sheets.values("period_id")).order_by("-start")[:PERIODS_OFFERED]
    unscored = Case(When(score__isnull=True, then=Value(1)), default=Value(0), output_field=IntegerField())
    groups = []
    for period in periods:
        rows = (sheets.filter(period=period).select_related("person", "team", "department")
                .order_by(unscored, "person__employee_no", "team__code", "department__code", "pk")[:SHEETS_PER_PERIOD])
        groups.append((period.name or period.code, [(sheet.pk, _sheet_label(sheet)) for sheet in rows]))
    return groups


def _sheet_label(sheet: Sheet) -> str:
    score = "—" if sheet.score is None else f"{sheet.score:,.2f}"
    return f"{sheet.subject_label} · {score}"


# --- the draft ----------------------------------------------------------------------------------


def draft_from(editor: TemplateEditor, *, organization: Organization) -> tuple[TemplateDraft | None, list[str]]:
    """The editor's draft as an unsaved template, checked as saving checks it (the editor's fields,
    the API's shape check, then the service's problems); or None and every reason."""
    spec = editor.spec()
    if spec is None:
        return None, editor_errors(editor)
    shape = TemplateSpecSerializer(data=spec)
    if not shape.is_valid():
        return None, flatten_errors(shape.errors)
    draft = draft_template(organization=organization, spec=spec)
    return (None, draft.problems) if draft.problems else (draft, [])


def editor_errors(editor: TemplateEditor) -> list[str]:
    """The errors the editor marks in red, each saying where it is (a field, or a row of a table)."""
    errors = [_at(str(editor.header[name].label), message) for name, messages in editor.header.errors.items()
              if name != "__all__" for message in messages]
    errors += [str(message) for message in editor.header.non_field_errors()]
    for prefix, (_form, title) in ROWS.items():
        formset = editor.rows[prefix]
        errors += [_at(str(title), message) for message in formset.non_form_errors()]
        for n, form in enumerate(formset.forms, start=1):
            for name, messages in form.errors.items():
                where = (_("%(table)s, row %(n)s, %(field)s") % {"table": title, "n": n, "field": form[name].label}
                         if name in form.fields else _("%(table)s, row %(n)s") % {"table": title, "n": n})
                errors += [_at(where, message) for message in messages]
    return errors


def _at(where: str, message: object) -> str:
    return _("%(where)s: %(error)s") % {"where": where, "error": message}


# --- the preview --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewLine:
    part: str
    label: str
    max_points: Decimal | None  # in the draft (None: the draft no longer has the line)
    score: Decimal | None  # under the draft
    explanation: str
    saved_max_points: Decimal | None  # on the sheet today (None: the sheet has no such line)
    saved_score: Decimal | None
    state: str  # KEPT, ADDED (no data on this sheet) or REMOVED

    @property
    def changed(self) -> bool:
        return self.state != KEPT or self.score != self.saved_score


@dataclass
class TemplatePreview:
    sheet: Sheet
    lines: list[PreviewLine] = field(default_factory=list)
    score: Decimal | None = None
    explanation: str = ""
    counted_as_zero: bool = False  # lines without a score counted 0 to show a score at all
    rater_notes: list[str] = field(default_factory=list)

    @property
    def difference(self) -> Decimal | None:
        if self.score is None or self.sheet.score is None:
            return None
        return self.score - self.sheet.score

    @property
    def special(self) -> bool:
        return self.sheet.special_status != SpecialStatus.NORMAL


@dataclass
class _SheetData:
    """One sheet's recorded data as rescoring reads it: lines, recorded deductions, raters, ratings."""

    lines: list[tuple[LineRow, int | None, str, str]]  # (line, template line id, indicator code, work item)
    occurrences: dict[int, dict[str, int]]
    raters: list[RaterRow]
    ratings: dict[int, list[RatingRow]]


def _read(sheet: Sheet) -> _SheetData:
    """Four queries, whatever the size of the sheet."""
    fields = len(LineRow.FIELDS)
    rows = (SheetLine.objects.filter(sheet_id=sheet.pk).order_by("sort_order", "pk")
            .annotate(config_text=Cast("config", TextField()))
            .values_list(*LineRow.FIELDS, "template_line_id", "indicator__code", "label"))
    configs: dict[str, Any] = {}
    lines = [(LineRow(row[:fields], sheet.subject_label, configs), row[fields], row[fields + 1], row[fields + 2])
             for row in rows]
    occurrences: dict[int, dict[str, int]] = defaultdict(dict)
    for line_id, item, n in (DeductionRecord.objects.filter(line__sheet_id=sheet.pk).values("line_id", "item_code")
                             .annotate(n=Sum("count")).order_by().values_list("line_id", "item_code", "n")):
        occurrences[line_id][item] = n
    raters = [RaterRow(*row) for row in Rater.objects.filter(sheet_id=sheet.pk).order_by("pk").values_list(
        "pk", "role", "weight", "missing_counts_as_zero", "recused")]
    ratings: dict[int, list[RatingRow]] = defaultdict(list)
    for line_id, rater_id, score in Rating.objects.filter(line__sheet_id=sheet.pk).values_list(
            "line_id", "rater_id", "score"):
        ratings[line_id].append(RatingRow(rater_id, score))
    return _SheetData(lines, occurrences, raters, ratings)


class _DraftLines:
    """The draft's lines by indicator code (and part), each to be matched with one sheet line."""

    def __init__(self, parts: Iterable[tuple[TemplatePart, list[TemplateLine]]]) -> None:
        self.parts = {part.code: part for part, _lines in parts}
        self.order: list[tuple[TemplatePart, TemplateLine]] = [(part, line) for part, lines in parts for line in lines]
        self.used: set[int] = set()

    def match(self, part_code: str, code: str) -> tuple[TemplatePart, TemplateLine] | None:
        candidates = [(p, t) for p, t in self.order if t.indicator.code == code and id(t) not in self.used]
        found = next((c for c in candidates if c[0].code == part_code), candidates[0] if candidates else None)
        if found is not None:
            self.used.add(id(found[1]))
        return found

    def unmatched(self) -> list[tuple[TemplatePart, TemplateLine]]:
        return [(p, t) for p, t in self.order if id(t) not in self.used]


def preview(sheet: Sheet, draft: TemplateDraft) -> TemplatePreview:
    """The draft applied to ``sheet``'s data: each line's score and the final score, with the
    engine's explanations, beside what the sheet holds today. Nothing is written."""
    data = _read(sheet)
    drafted = _DraftLines(draft.parts)
    result = TemplatePreview(sheet)
    raters, result.rater_notes = _draft_raters(data.raters, draft)
    scored: list[Any] = []
    for line, template_line_id, code, work_item in data.lines:
        saved = (line.max_points, line.score)
        label = work_item or str(line.indicator_name)
        if template_line_id is None:  # a work item of this sheet alone: it follows its part
            part = drafted.parts.get(line.part_code)
            kept = part is not None and part.per_person
        else:
            match = drafted.match(line.part_code, code)
            kept = match is not None
            if match is not None:
                line.part_code, line.max_points, line.source = match[0].code, match[1].max_points, match[1].source
        if not kept:
            result.lines.append(PreviewLine(line.part_code, label, None, None, "", *saved, REMOVED))
            continue
        if line.source == LineSource.RATERS:
            # What rescoring does for a rated line (appraisal.services.rescoring), with the draft's raters.
            line.score, line.raw_score, line.explanation = combine_ratings_raw(raters, data.ratings[line.pk])
        else:
            score_line(line, ratings=None, occurrences=data.occurrences[line.pk])
        scored.append(line)
        result.lines.append(PreviewLine(line.part_code, label, line.max_points, line.score, line.explanation,
                                        *saved, KEPT))
    for part, template_line in drafted.unmatched():
        missing = SheetLine(indicator=template_line.indicator, part_code=part.code,
                            max_points=template_line.max_points, score=None)
        scored.append(missing)
        result.lines.append(PreviewLine(part.code, template_line.indicator.name, template_line.max_points, None,
                                        _("No line for this indicator on this sheet."), None, None, ADDED))
    _score(result, draft, scored)
    return result


def _score(result: TemplatePreview, draft: TemplateDraft, lines: list[Any]) -> None:
    """The sheet's score under the draft, as the close scores it; while a line has no score, the
    score with those lines counted 0 (the engine's explanation names them), marked as such."""
    template, parts = draft.template, [part for part, _lines in draft.parts]
    sheet_score = score_sheet(template.base_score, lines, parts, rounding=template.rounding)
    if sheet_score.score is None and sheet_score.missing:
        sheet_score = score_sheet(template.base_score, lines, parts, missing_as_zero=True,
                                  rounding=template.rounding)
        result.counted_as_zero = True
    result.score, result.explanation = sheet_score.score, sheet_score.explanation


def _draft_raters(raters: list[RaterRow], draft: TemplateDraft) -> tuple[list[RaterRow], list[str]]:
    """The sheet's raters with the draft's weight for their role; those of a role the draft no
    longer has are left out. A role the draft adds has nobody on this sheet: said, not invented."""
    weights: Mapping[str, Decimal] = {rater.role: rater.weight for rater in draft.raters}
    kept = [rater._replace(weight=weights[rater.role]) for rater in raters if rater.role in weights]
    on_sheet = {rater.role for rater in raters}
    notes = [_("%(role)s: nobody rates in this role on this sheet.") % {"role": rater.get_role_display()}
             for rater in draft.raters if rater.role not in on_sheet]
    return kept, notes
