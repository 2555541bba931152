"""Sample lines for the indicator editor's live preview (indicators.editors.preview): real data
lines of the latest periods, with their inputs and recorded occurrences, read only."""

from __future__ import annotations

from django.db.models import Sum

from appraisal.models import DeductionRecord, Period, SheetLine
from appraisal.services.scoring import line_input
from indicators.editors.preview import SampleLine
from indicators.models import Indicator, LineSource

PERIODS_OFFERED = 3
LINES_PER_PERIOD = 60


class AppraisalSampleLines:
    def choices(self, *, indicator: Indicator | None, method: str) -> list[tuple[str, list[tuple[int, str]]]]:
        periods = Period.objects.exclude(state=Period.State.DRAFT).order_by("-start")[:PERIODS_OFFERED]
        groups = []
        for period in periods:
            lines = SheetLine.objects.filter(sheet__period=period, source=LineSource.DATA)
            if indicator is not None:
                lines = lines.filter(indicator=indicator)
            elif lines.filter(method=method).exists():
                lines = lines.filter(method=method)  # a new indicator: lines scored the same way, else any line
            rows = lines.select_related("sheet__person", "sheet__team", "sheet__department", "indicator").order_by(
                "sheet__pk", "sort_order", "pk")[:LINES_PER_PERIOD]
            offered = [(line.pk, _label(line)) for line in rows]
            if offered:
                groups.append((period.name or period.code, offered))
        return groups

    def sample(self, pk: int) -> SampleLine | None:
        line = (SheetLine.objects.filter(pk=pk, source=LineSource.DATA)
                .select_related("sheet__period", "sheet__person", "sheet__team", "sheet__department", "indicator")
                .first())
        if line is None:
            return None
        occurrences = dict(DeductionRecord.objects.filter(line=line).values("item_code").annotate(n=Sum("count"))
                           .values_list("item_code", "n"))
        return SampleLine(pk=line.pk, label=f"{line.sheet.period.name} · {_label(line)}",
                          line=line_input(line, occurrences=occurrences), score=line.score,
                          explanation=line.explanation)


def _label(line: SheetLine) -> str:
    what = line.label or line.indicator.name
    return f"{line.sheet.subject_label} · {what}"


SOURCE = AppraisalSampleLines()
