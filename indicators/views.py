"""HR pages for the indicator catalogue (with targets and benchmarks) and appraisal templates.

House style (organizations.views): the matrix decides who may open a page at all (403), scoped
querysets make another organisation's row a 404, forms check the input and the services in
indicators.services do every write, with the acting user kept in the audit trail.
"""

from __future__ import annotations

import json
from typing import Any, cast

import django_tables2 as tables
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch, QuerySet
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_tables2 import RequestConfig

from indicators import scoring, services
from indicators.api import TemplateSpecSerializer, flatten_errors
from indicators.forms import (
    METHOD_HELP,
    BenchmarkForm,
    IndicatorFilter,
    IndicatorForm,
    TemplateSpecForm,
    example_config,
    example_spec,
)
from indicators.models import Benchmark, Indicator, Template, TemplateLine, TemplatePart, TemplateRater
from organizations.access import get_visible_or_404
from organizations.context import TenantContext
from organizations.models import User
from organizations.permissions import can
from organizations.views import tenant_page

INDICATORS_PER_PAGE = 50
TEMPLATES_PER_PAGE = 50


def require_change(tenant: TenantContext, resource: str) -> None:
    """403 unless the matrix lets the user change ``resource`` (the page itself needs view)."""
    if not can(tenant, resource, "change"):
        raise PermissionDenied


def actor(request: HttpRequest) -> User:
    # tenant_page: the user is signed in.
    return cast(User, request.user)


def add_validation_errors(form: BaseForm, error: ValidationError) -> None:
    """A service's ValidationError onto the form: per field where the field is on the form."""
    if hasattr(error, "error_dict"):
        for field, problems in error.message_dict.items():
            form.add_error(field if field in form.fields else None, problems)
    else:
        form.add_error(None, error.messages)


# --- tables ------------------------------------------------------------------------------------


class IndicatorTable(tables.Table):
    code = tables.Column(linkify=("indicator-detail", {"pk": tables.A("pk")}))
    name = tables.Column(linkify=("indicator-detail", {"pk": tables.A("pk")}))
    unit = tables.Column()
    dimension = tables.Column()
    direction = tables.Column()
    method = tables.Column()
    is_active = tables.BooleanColumn()

    class Meta:
        model = Indicator
        fields = ("code", "name", "unit", "dimension", "direction", "method", "is_active")
        attrs = {"class": "table table-hover align-middle mb-0", "id": "indicator-table"}
        empty_text = gettext_lazy("No indicators yet.")
        order_by = ("code",)

    def render_method(self, value: str) -> str:
        return str(scoring.Method(value).label) if value in scoring.Method.values else value


class TemplateTable(tables.Table):
    code = tables.Column(linkify=("template-detail", {"pk": tables.A("pk")}))
    version = tables.Column()
    name = tables.Column(linkify=("template-detail", {"pk": tables.A("pk")}))
    subject_kind = tables.Column()
    base_score = tables.Column()
    parts = tables.Column(verbose_name=gettext_lazy("Parts"), accessor="part_count", orderable=False)
    lines = tables.Column(verbose_name=gettext_lazy("Lines"), accessor="line_count", orderable=False)
    is_active = tables.BooleanColumn()

    class Meta:
        model = Template
        fields = ("code", "version", "name", "subject_kind", "base_score", "parts", "lines", "is_active")
        attrs = {"class": "table table-hover align-middle mb-0", "id": "template-table"}
        empty_text = gettext_lazy("No templates yet.")
        order_by = ("code", "-version")

    def render_version(self, value: int) -> SafeString:
        return format_html('<span class="badge text-bg-light border">v{}</span>', value)


# --- indicators --------------------------------------------------------------------------------


@tenant_page("indicator")
@require_safe
def indicator_list(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    catalogue = Indicator.objects.all()
    indicator_filter = IndicatorFilter(request.GET or None, queryset=catalogue, request=request)
    rows = indicator_filter.qs if not indicator_filter.is_bound or indicator_filter.is_valid() else catalogue.none()
    table = IndicatorTable(rows)
    RequestConfig(request, paginate={"per_page": INDICATORS_PER_PAGE}).configure(table)
    context = {"filter": indicator_filter, "table": table, "may_change": can(tenant, "indicator", "change")}
    template = "indicators/_indicator_table.html" if getattr(request, "htmx", False) else "indicators/indicators.html"
    return render(request, template, context)


def _render_indicator_form(request: HttpRequest, form: IndicatorForm, indicator: Indicator | None,
                           status: int = 200) -> HttpResponse:
    method = str(form["method"].value() or scoring.Method.COMPLETION)
    context = {"form": form, "indicator": indicator, "method_help": METHOD_HELP.get(method, "")}
    return render(request, "indicators/indicator_form.html", context, status=status)


@tenant_page("indicator")
@require_http_methods(["GET", "POST"])
def indicator_create(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    require_change(tenant, "indicator")
    form = IndicatorForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                indicator = services.create_indicator(
                    organization=tenant.organization, acting_user=actor(request), reason="", **form.values()
                )
            except ValidationError as error:
                add_validation_errors(form, error)
            else:
                messages.success(request, _("Indicator %(code)s created.") % {"code": indicator.code})
                return redirect("indicator-detail", pk=indicator.pk)
        return _render_indicator_form(request, form, None, status=400)
    return _render_indicator_form(request, form, None)


@tenant_page("indicator")
@require_http_methods(["GET", "POST"])
def indicator_edit(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    require_change(tenant, "indicator")
    indicator = get_visible_or_404(Indicator.objects.all(), pk=pk)
    form = IndicatorForm(request.POST or None, instance=indicator)
    if request.method == "POST":
        if form.is_valid():
            # The form has written its values onto its instance; the service compares against the stored row.
            stored = Indicator.objects.get(pk=pk)
            try:
                services.update_indicator(indicator=stored, acting_user=actor(request), **form.values())
            except ValidationError as error:
                add_validation_errors(form, error)
            else:
                messages.success(request, _("Indicator %(code)s saved.") % {"code": stored.code})
                return redirect("indicator-detail", pk=pk)
        return _render_indicator_form(request, form, Indicator.objects.get(pk=pk), status=400)
    return _render_indicator_form(request, form, indicator)


@tenant_page("indicator")
@require_safe
def config_example(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """The configuration field pre-filled with the chosen method's documented example (htmx swap)."""
    method = request.GET.get("method", "")
    if method not in scoring.Method.values:
        method = scoring.Method.COMPLETION
    form = IndicatorForm(initial={"method": method, "config": None})
    context = {"field": form["config"], "value": example_config(method), "method_help": METHOD_HELP[method]}
    return render(request, "indicators/_config_field.html", context)


def _benchmarks(indicator: Indicator) -> QuerySet[Benchmark]:
    return (
        Benchmark.objects.filter(indicator=indicator)
        .select_related("department", "team", "person")
        .order_by("kind", "department__code", "team__code", "pk")
    )


def _render_indicator_detail(request: HttpRequest, tenant: TenantContext, indicator: Indicator,
                             benchmark_form: BenchmarkForm | None, status: int = 200) -> HttpResponse:
    may_change = can(tenant, "indicator", "change")
    context = {
        "indicator": indicator,
        "method_label": scoring.Method(indicator.method).label if indicator.method in scoring.Method.values else "",
        "config_text": json.dumps(indicator.config, ensure_ascii=False, indent=2),
        "benchmarks": list(_benchmarks(indicator)),
        "benchmark_form": benchmark_form if benchmark_form is not None else (BenchmarkForm() if may_change else None),
        "may_change": may_change,
    }
    return render(request, "indicators/indicator_detail.html", context, status=status)


@tenant_page("indicator")
@require_safe
def indicator_detail(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    indicator = get_visible_or_404(Indicator.objects.select_related("parent"), pk=pk)
    return _render_indicator_detail(request, tenant, indicator, None)


@tenant_page("indicator")
@require_POST
def benchmark_add(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    indicator = get_visible_or_404(Indicator.objects.select_related("parent"), pk=pk)
    require_change(tenant, "indicator")
    form = BenchmarkForm(request.POST)
    if form.is_valid():
        try:
            services.add_benchmark(indicator=indicator, acting_user=actor(request), **form.values())
        except ValidationError as error:
            add_validation_errors(form, error)
        else:
            messages.success(request, _("Target or benchmark added."))
            return redirect("indicator-detail", pk=indicator.pk)
    return _render_indicator_detail(request, tenant, indicator, form, status=400)


# --- templates ---------------------------------------------------------------------------------


@tenant_page("template")
@require_safe
def template_list(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    rows = Template.objects.annotate(
        part_count=Count("parts", distinct=True), line_count=Count("parts__lines", distinct=True)
    )
    table = TemplateTable(rows)
    RequestConfig(request, paginate={"per_page": TEMPLATES_PER_PAGE}).configure(table)
    return render(request, "indicators/templates.html",
                  {"table": table, "may_change": can(tenant, "template", "change")})


@tenant_page("template")
@require_safe
def template_detail(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    template = get_visible_or_404(Template.objects.select_related("department_type"), pk=pk)
    lines = TemplateLine.objects.select_related("indicator").order_by("sort_order", "pk")
    parts = list(
        TemplatePart.objects.filter(template=template).prefetch_related(Prefetch("lines", queryset=lines))
    )
    raters = list(TemplateRater.objects.filter(template=template).select_related("group", "department").order_by("pk"))
    context = {"template": template, "parts": parts, "raters": raters, "rules": rule_texts(template.applies_to),
               "may_change": can(tenant, "template", "change")}
    return render(request, "indicators/template_detail.html", context)


def rule_texts(rules: list[dict[str, object]]) -> list[str]:
    """The template's assignment rules (applies_to) as HR reads them: each a conjunction."""
    labels = {"people": _("people"), "department": _("department"), "department_type": _("department type"),
              "position": _("position"), "team_kind": _("team kind")}
    texts = []
    for rule in rules:
        pieces = []
        for key, label in labels.items():
            value = rule.get(key)
            if value in (None, "", []):
                continue
            shown = "、".join(str(v) for v in value) if isinstance(value, list) else str(value)
            if key == "department":
                shown += " " + (_("(with its sub-departments)") if rule.get("sub_departments", True)
                                else _("(itself only)"))
            pieces.append(f"{label} {shown}")
        texts.append(_(" and ").join(pieces))
    return texts


def save_template_spec(request: HttpRequest, tenant: TenantContext,
                       spec: dict[str, Any]) -> tuple[Template | None, list[str]]:
    """A template from a spec, as the JSON page and the structured editor both make one: the API's shape
    check, then build_template; the template, or every problem (and nothing written)."""
    shape = TemplateSpecSerializer(data=spec)
    if not shape.is_valid():
        return None, flatten_errors(shape.errors)
    try:
        template = services.build_template(organization=tenant.organization, acting_user=actor(request), spec=spec)
    except services.TemplateRejected as rejected:
        return None, rejected.problems
    messages.success(request, _("Template %(name)s created.") % {"name": str(template)})
    return template, []


@tenant_page("template")
@require_http_methods(["GET", "POST"])
def template_create(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """A template from its JSON spec (the shape build_template reads): refused → every problem, nothing saved."""
    require_change(tenant, "template")
    form = TemplateSpecForm(request.POST or None, initial={"spec": example_spec()})
    problems: list[str] = []
    if request.method == "POST":
        if form.is_valid():
            template, problems = save_template_spec(request, tenant, form.cleaned_data["spec"])
            if template is not None:
                return redirect("template-detail", pk=template.pk)
        status = 400
    else:
        status = 200
    codes = list(Indicator.objects.filter(is_active=True).values_list("code", "name", "method").order_by("code"))
    context = {"form": form, "problems": problems, "indicator_codes": codes}
    return render(request, "indicators/template_form.html", context, status=status)
