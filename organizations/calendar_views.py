"""The working calendar page (issue #17): a year of working days, holidays and make-up working
days; 「导入法定节假日」 fills a year from chinesecalendar; HR adds, changes or removes single days.
Every change is audited (the services' history rows)."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.web import acting_user
from organizations import services, setup_services
from organizations.access import get_visible_or_404
from organizations.calendar import CalendarYearMissing, is_working_day
from organizations.context import TenantContext
from organizations.models import CalendarDay, CalendarYear
from organizations.permissions import can, require
from organizations.setup_forms import FIRST_YEAR, LAST_YEAR, CalendarDayForm, CalendarFillForm, for_edit
from organizations.setup_views import form_page
from organizations.views import tenant_page


def refusal_with_link(missing: CalendarYearMissing) -> SafeString:
    """A step refused for want of calendar data, said with a link to the year to enter: HR should
    not have to find the calendar page to do what the message asks."""
    if not missing.years:
        return format_html("{}", str(missing))
    year = missing.years[0]
    return format_html('{} <a href="{}?year={}">{}</a>', str(missing), reverse("calendar"), year,
                       _("Open the working calendar of %(year)s") % {"year": year})


@dataclass(frozen=True)
class Cell:
    day: dt.date | None  # None: a day of the neighbouring month, shown blank
    kind: str  # "work", "rest", "holiday", "workday" (a make-up working day)
    name: str = ""


@dataclass(frozen=True)
class Month:
    number: int
    weeks: list[list[Cell]]


def _cell(day: dt.date, override: CalendarDay | None) -> Cell:
    if override is not None:
        return Cell(day, override.kind, override.name)
    return Cell(day, "work" if is_working_day(day, None) else "rest")


def _months(year: int, overrides: dict[dt.date, CalendarDay]) -> list[Month]:
    weeks_of = calendar.Calendar(firstweekday=0).monthdatescalendar
    return [
        Month(month, [[_cell(day, overrides.get(day)) if day.month == month else Cell(None, "")
                       for day in week] for week in weeks_of(year, month)])
        for month in range(1, 13)
    ]


def _year_of(request: HttpRequest) -> int:
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        return timezone.localdate().year
    return year if FIRST_YEAR <= year <= LAST_YEAR else timezone.localdate().year


@tenant_page("calendar")
@require_safe
def calendar_page(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    year = _year_of(request)
    days = list(CalendarDay.objects.filter(date__year=year).order_by("date"))
    overrides = {day.date: day for day in days}
    months = _months(year, overrides)
    working = sum(cell.kind in ("work", "workday") for month in months for week in month.weeks for cell in week)
    known = CalendarYear.objects.filter(year=year).first()
    return render(request, "organizations/calendar.html", {
        "year": year, "known": known, "days": days, "months": months, "working": working,
        "holidays": sum(1 for day in days if day.kind == CalendarDay.Kind.HOLIDAY),
        "makeup": sum(1 for day in days if day.kind == CalendarDay.Kind.WORKDAY),
        "years": list(CalendarYear.objects.order_by("year").values_list("year", flat=True)),
        "may_change": can(tenant, "calendar", "change"),
        "fill_form": CalendarFillForm(initial={"year": year}),
        "weekdays": [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")],
    })


@tenant_page("calendar")
@require_POST
def calendar_fill(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """「导入法定节假日」: the year's public holidays and make-up working days from chinesecalendar.
    Days HR already entered stay as they are; a year chinesecalendar does not know writes nothing."""
    require(tenant, "calendar")
    form = CalendarFillForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("year", []):
            messages.error(request, str(error))
        return redirect("calendar")
    year = form.cleaned_data["year"]
    try:
        result = services.seed_calendar_year(organization=tenant.organization, year=year,
                                             acting_user=acting_user(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Official holidays of %(year)s imported: %(added)s days added, %(kept)s days "
                                    "already entered kept.") % {"year": year, **result})
    return redirect(f"{reverse('calendar')}?year={year}")


def _back(year: int) -> str:
    return f"{reverse('calendar')}?year={year}"


@tenant_page("calendar")
@require_http_methods(["GET", "POST"])
def calendar_day_new(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    require(tenant, "calendar")
    form = CalendarDayForm(request.POST or None, instance=CalendarDay(organization=tenant.organization))
    return form_page(
        request, form, title=_("Enter a calendar day"), back=_back(_year_of(request)),
        save=lambda: setup_services.set_calendar_day(
            organization=tenant.organization, acting_user=acting_user(request), **form.cleaned_data),
        saved=lambda row: _("%(day)s saved.") % {"day": row},
        after=lambda row: _back(row.date.year),  # type: ignore[attr-defined]
    )


@tenant_page("calendar")
@require_http_methods(["GET", "POST"])
def calendar_day_edit(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    day = get_visible_or_404(CalendarDay.objects.all(), pk=pk)
    require(tenant, "calendar")
    form = CalendarDayForm(request.POST or None, instance=for_edit(day))

    def save() -> CalendarDay:
        values = form.cleaned_data
        if values["date"] != day.date:  # another date: that date's entry, and this one goes
            setup_services.remove_calendar_day(day=day, acting_user=acting_user(request), reason="moved")
            return setup_services.set_calendar_day(organization=tenant.organization,
                                                   acting_user=acting_user(request), **values)
        return setup_services.update_calendar_day(day=day, acting_user=acting_user(request), kind=values["kind"],
                                                  name=values["name"])

    return form_page(request, form, title=_("Change %(day)s") % {"day": day}, back=_back(day.date.year), save=save,
                     saved=lambda row: _("%(day)s saved.") % {"day": row},
                     after=lambda row: _back(row.date.year),  # type: ignore[attr-defined]
                     extra={"delete_url": reverse("calendar-day-delete", args=[day.pk])})


@tenant_page("calendar")
@require_POST
def calendar_day_delete(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    day = get_visible_or_404(CalendarDay.objects.all(), pk=pk)
    require(tenant, "calendar")
    year, label = day.date.year, str(day)
    setup_services.remove_calendar_day(day=day, acting_user=acting_user(request))
    messages.success(request, _("%(day)s removed: the day follows the Monday–Friday rule again.") % {"day": label})
    return redirect(_back(year))
