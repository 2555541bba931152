"""Tables of the appraisal pages (django-tables2): periods, and the sheets of a period or a user.

Counts come from annotations on the queryset (sheet_count; line_total, line_done and line_blocking
from appraisal.selectors.with_progress), so a page of sheets costs the same number of queries
whatever its length.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_tables2 as tables
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from appraisal import selectors
from appraisal.models import Period, Sheet, SpecialStatus

STATE_BADGES: dict[str, str] = {
    Period.State.DRAFT: "secondary",
    Period.State.OPEN: "success",
    Period.State.SELF_ASSESSMENT: "info",
    Period.State.SCORING: "info",
    Period.State.CALIBRATION: "warning",
    Period.State.CLOSED: "dark",
    Period.State.PUBLISHED: "primary",
    Period.State.FINAL: "dark",
}


def state_badge(period: Period) -> SafeString:
    colour = STATE_BADGES.get(period.state, "secondary")
    return format_html('<span class="badge text-bg-{} period-state">{}</span>', colour, period.get_state_display())


class PeriodTable(tables.Table):
    code = tables.Column(linkify=("period-detail", {"pk": tables.A("pk")}))
    name = tables.Column(linkify=("period-detail", {"pk": tables.A("pk")}))
    kind = tables.Column()
    state = tables.Column()
    start = tables.DateColumn(format="Y-m-d")
    end = tables.DateColumn(format="Y-m-d")
    sheets = tables.Column(verbose_name=_("Sheets"), accessor="sheet_count", orderable=False,
                           attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}})
    actions = tables.TemplateColumn(template_name="appraisal/_period_actions.html", verbose_name="",
                                    orderable=False)

    class Meta:
        model = Period
        fields = ("code", "name", "kind", "state", "start", "end", "sheets", "actions")
        attrs = {"class": "table table-hover align-middle mb-0", "id": "period-table"}
        row_attrs = {"id": lambda record: f"period-{record.pk}"}
        empty_text = _("No periods yet.")
        order_by = ("-start", "code")

    def render_state(self, record: Period) -> SafeString:
        return state_badge(record)


def progress(done: int, total: int, *, blocking: int = 0, special: bool = False) -> SafeString:
    """Lines entered and rated out of all (what is really done: appraisal.selectors.line_done),
    with a badge when the sheet blocks the close."""
    share = round(100 * done / total) if total else 0
    badge = SafeString("")
    if special:
        badge = format_html('<span class="badge text-bg-info sheet-special">{}</span>', _("special status"))
    elif blocking:
        badge = format_html('<span class="badge text-bg-danger sheet-incomplete">{}</span>', _("incomplete"))
    elif done < total:
        badge = format_html('<span class="badge text-bg-warning sheet-provisional">{}</span>', _("provisional"))
    return format_html(
        '<div class="d-flex align-items-center gap-2 sheet-progress">'
        '<div class="progress flex-grow-1" style="height: .4rem; min-width: 4rem;" role="progressbar" '
        'aria-label="{}" aria-valuenow="{}" aria-valuemin="0" aria-valuemax="100"><div class="progress-bar" '
        'style="width: {}%"></div></div><span class="small text-nowrap">{} / {}</span>{}</div>',
        _("Lines entered and rated"), share, share, done, total, badge,
    )


class SheetTable(tables.Table):
    subject = tables.Column(verbose_name=_("Subject"), accessor="subject_label", order_by=selectors.SUBJECT_ORDER,
                            linkify=("sheet-detail", {"pk": tables.A("pk")}))
    period = tables.Column(order_by=("period__start",))
    template = tables.Column(order_by=("template__code", "template__version"))
    score = tables.Column(attrs={"td": {"class": "text-end sheet-score"}, "th": {"class": "text-end"}})
    progress = tables.Column(verbose_name=_("Lines entered and rated"), accessor="line_done", orderable=False)

    class Meta:
        model = Sheet
        fields = ("subject", "period", "template", "score", "progress")
        attrs = {"class": "table table-hover align-middle mb-0", "id": "sheet-table"}
        row_attrs = {"id": lambda record: f"sheet-{record.pk}"}
        empty_text = _("No sheets.")
        order_by = ("subject",)
        # The rows are written out in the template; the columns above give the head and the sorting.
        template_name = "appraisal/_sheet_table_body.html"

    def render_score(self, value: Decimal | None) -> str:
        return "—" if value is None else str(value)

    def render_progress(self, record: Sheet) -> SafeString:
        return sheet_progress(record)


def sheet_progress(sheet: Sheet) -> SafeString:
    """A sheet's progress bar, from the counts ``selectors.with_progress`` annotated."""
    return progress(int(sheet.line_done), int(sheet.line_total),  # type: ignore[attr-defined]
                    blocking=int(sheet.line_blocking),  # type: ignore[attr-defined]
                    special=sheet.special_status != SpecialStatus.NORMAL)


class IdsFirstPaginator(Paginator):
    """Pages a sheet table in two steps: the page's ids alone, sorted and cut by the database (a
    narrow sort, no line counted; by subject, a kind at a time: selectors.subject_sorted_ids), then
    those sheets with their subjects and line counts (selectors.page_with_progress). Counting every
    listed sheet's lines before OFFSET was most of a late page at 10,000 sheets."""

    @cached_property
    def _subject_sorted(self) -> tuple[QuerySet[Sheet], bool] | None:
        """The listed sheets and whether descending, when they are sorted by subject."""
        rows: Any = self.object_list  # django_tables2 BoundRows over TableQuerysetData
        listed: QuerySet[Sheet] = rows.data.data
        ordering = tuple(str(key) for key in listed.query.order_by)
        if ordering in (selectors.SUBJECT_ORDER, tuple("-" + key for key in selectors.SUBJECT_ORDER)):
            return listed, ordering[0].startswith("-")
        return None

    @cached_property
    def _subject_counts(self) -> dict[str, int]:
        assert self._subject_sorted is not None
        return selectors.subject_counts(self._subject_sorted[0])

    @cached_property
    def count(self) -> int:
        # By subject the kinds are counted anyway, and their sum is the count.
        return super().count if self._subject_sorted is None else sum(self._subject_counts.values())

    def page(self, number: int | str) -> Page:
        page = super().page(number)
        rows: Any = page.object_list  # django_tables2 BoundRows over the sliced queryset
        cut: QuerySet[Sheet] = rows.data
        if self._subject_sorted is None:
            ids = list(cut.values_list("pk", flat=True))
        else:
            listed, descending = self._subject_sorted
            ids = selectors.subject_sorted_ids(listed, self._subject_counts, cut.query.low_mark,
                                               cut.query.high_mark or self.count, descending=descending)
        rows.data = selectors.page_with_progress(ids)
        return page
