"""REST API for the indicator catalogue, targets and benchmarks, and appraisal templates.

House style (organizations.api): thin viewsets over scoped querysets, so another organisation's
row is simply not found (404); an input serializer checks the shape, a service does the audited
write, an output serializer renders.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from indicators import scoring, services
from indicators.models import (
    Benchmark,
    Indicator,
    LineSource,
    RaterRole,
    Rounding,
    SubjectKind,
    Template,
    TemplateLine,
    TemplatePart,
    TemplateRater,
    UnitSource,
)
from organizations.api import ScopedRelatedField, TenantViewSet, id_filter
from organizations.models import Department, Person, Team

REASON_HELP = gettext_lazy("Why: kept in the audit trail.")

# --- indicators ---------------------------------------------------------------------------------


class IndicatorFilter(filters.FilterSet):
    parent = id_filter("parent")
    method = filters.ChoiceFilter(choices=scoring.Method.choices)
    dimension = filters.CharFilter()
    is_active = filters.BooleanFilter()


class IndicatorSerializer(serializers.ModelSerializer):
    # "parent" is also Field.parent in DRF; the metaclass moves declared fields away, so it is safe.
    parent = ScopedRelatedField(Indicator, allow_null=True, required=False)  # type: ignore[assignment]
    method = serializers.ChoiceField(choices=scoring.Method.choices)
    config = serializers.DictField(  # a JSON object; a list or a number is 400, not a crash
        required=False,
        help_text=gettext_lazy("The scoring method's parameters; numbers as strings (\"1.2\"), never floats."),
    )
    reason = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=100, help_text=REASON_HELP
    )

    class Meta:
        model = Indicator
        fields = ["id", "code", "name", "unit", "dimension", "parent", "direction", "evidence_required", "method",
                  "config", "description", "is_active", "reason"]
        read_only_fields = ["id"]


class IndicatorViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    TenantViewSet,
):
    """The indicator catalogue. Every member may read it; HR keeps it. A configuration that the
    scoring method refuses is a 400 naming the wrong setting ("config": ["items[0].points: …"]).
    Indicators are not deleted (sheets keep pointing at them); set ``is_active`` to false."""

    model = Indicator
    permission_resource = "indicator"
    serializer_class = IndicatorSerializer
    filterset_class = IndicatorFilter

    def scoped_queryset(self) -> QuerySet[Indicator]:
        return Indicator.objects.select_related("parent")

    def perform_create(self, serializer: Any) -> None:
        values = dict(serializer.validated_data)
        serializer.instance = services.create_indicator(
            organization=self.tenant.organization, acting_user=self.actor, config=values.pop("config", {}), **values
        )

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.update_indicator(
            indicator=serializer.instance, acting_user=self.actor, **serializer.validated_data
        )


# --- targets and benchmarks ---------------------------------------------------------------------


class BenchmarkFilter(filters.FilterSet):
    indicator = id_filter("indicator")
    kind = filters.ChoiceFilter(choices=Benchmark.Kind.choices)
    department = id_filter("department")
    team = id_filter("team")
    person = id_filter("person")


class BenchmarkSerializer(serializers.ModelSerializer):
    indicator = ScopedRelatedField(Indicator)
    department = ScopedRelatedField(Department, allow_null=True, required=False)
    team = ScopedRelatedField(Team, allow_null=True, required=False)
    person = ScopedRelatedField(Person, allow_null=True, required=False)
    months = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=12), required=False,
        help_text=gettext_lazy("Months 1–12 the value applies to; empty means every month."),
    )

    class Meta:
        model = Benchmark
        fields = ["id", "indicator", "kind", "value", "months", "department", "team", "person", "valid_from",
                  "valid_to"]
        read_only_fields = ["id"]


class BenchmarkViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    TenantViewSet,
):
    """Targets and benchmarks (标杆值) of indicators, for the whole organisation or one department,
    team or person, optionally for some months. Filter by ``indicator``. A value is not edited:
    delete it and add the new one, so the audit trail shows both. Sheets already generated keep the
    target they were given."""

    model = Benchmark
    permission_resource = "indicator"
    serializer_class = BenchmarkSerializer
    filterset_class = BenchmarkFilter

    def scoped_queryset(self) -> QuerySet[Benchmark]:
        return Benchmark.objects.select_related("indicator").order_by("indicator__code", "pk")

    def perform_create(self, serializer: Any) -> None:
        values = dict(serializer.validated_data)
        serializer.instance = services.add_benchmark(
            indicator=values.pop("indicator"), acting_user=self.actor, **values
        )

    def perform_destroy(self, instance: Benchmark) -> None:
        # No service deletes benchmarks yet; the audit attributes are what one would set.
        with transaction.atomic():
            instance._history_user = self.actor  # type: ignore[attr-defined]
            instance._change_reason = "deleted"  # type: ignore[attr-defined]
            instance.delete()


# --- templates ----------------------------------------------------------------------------------


class TemplateFilter(filters.FilterSet):
    code = filters.CharFilter()
    subject_kind = filters.ChoiceFilter(choices=SubjectKind.choices)
    is_active = filters.BooleanFilter()


class TemplateLineSerializer(serializers.ModelSerializer):
    indicator_code = serializers.CharField(source="indicator.code", read_only=True)
    indicator_name = serializers.CharField(source="indicator.name", read_only=True)

    class Meta:
        model = TemplateLine
        fields = ["id", "indicator", "indicator_code", "indicator_name", "max_points", "source", "config_override",
                  "sort_order"]
        read_only_fields = fields


class TemplatePartSerializer(serializers.ModelSerializer):
    lines = TemplateLineSerializer(many=True, read_only=True)

    class Meta:
        model = TemplatePart
        fields = ["id", "code", "name", "weight", "full_marks", "cap_positive", "per_person", "sort_order", "lines"]
        read_only_fields = fields


class TemplateRaterSerializer(serializers.ModelSerializer):
    class Meta:
        model = TemplateRater
        fields = ["id", "role", "weight", "group", "department", "missing_counts_as_zero"]
        read_only_fields = fields


class TemplateSerializer(serializers.ModelSerializer):
    parts = TemplatePartSerializer(many=True, read_only=True)
    raters = TemplateRaterSerializer(many=True, read_only=True)

    class Meta:
        model = Template
        fields = ["id", "code", "version", "name", "subject_kind", "department_type", "position", "base_score",
                  "is_active", "parts", "raters", "team_kind", "applies_to", "rounding", "unit_share", "unit"]
        read_only_fields = fields


# The spec build_template reads. These serializers check its shape (so a list where an object
# belongs is a clear problem, not a crash) and describe it in the OpenAPI schema; numbers are
# strings ("0.7") because the service refuses floats.
NUMBER_HELP = gettext_lazy('A decimal number as a string, e.g. "0.7".')


class TemplateLineSpecSerializer(serializers.Serializer):
    indicator = serializers.CharField(help_text=gettext_lazy("The indicator's code."))
    max_points = serializers.CharField(help_text=NUMBER_HELP)
    # "source" is also Field.source in DRF; the metaclass moves declared fields away, so it is safe.
    source = serializers.ChoiceField(choices=LineSource.choices, required=False)  # type: ignore[assignment]
    config = serializers.JSONField(
        required=False, help_text=gettext_lazy("Replaces the indicator's configuration in this template only."),
    )


class TemplatePartSpecSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=30)
    name = serializers.CharField(max_length=100)
    weight = serializers.CharField(help_text=NUMBER_HELP)
    full_marks = serializers.CharField(required=False, help_text=NUMBER_HELP)
    cap_positive = serializers.BooleanField(required=False)
    per_person = serializers.BooleanField(
        required=False, help_text=gettext_lazy("Each sheet gets its own lines in this part (individual work items), "
                                               "scaled to the part's full marks; the part may have no lines here."))
    lines = TemplateLineSpecSerializer(many=True)


class TemplateRaterSpecSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=RaterRole.choices)
    weight = serializers.CharField(help_text=NUMBER_HELP)
    group = serializers.CharField(required=False, allow_blank=True, help_text=gettext_lazy("A review group's code."))
    department = serializers.CharField(required=False, allow_blank=True,
                                       help_text=gettext_lazy("The code of the department whose head rates."))
    missing_counts_as_zero = serializers.BooleanField(required=False)


class TemplateSpecSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=30, help_text=gettext_lazy("An existing code makes a new version."))
    name = serializers.CharField(max_length=200)
    subject_kind = serializers.ChoiceField(choices=SubjectKind.choices, required=False)
    department_type = serializers.CharField(required=False, allow_blank=True,
                                            help_text=gettext_lazy("A department type's code."))
    position = serializers.CharField(required=False, allow_blank=True)
    applies_to = serializers.JSONField(
        required=False, help_text=gettext_lazy(
            'Who the template is for, instead of department_type / position / team_kind: a list of rules, each a '
            'conjunction of "people" (employee numbers), "department" (code; "sub_departments": false for that '
            'department only), "department_type" (code), "position" and "team_kind". Most specific wins: people > '
            'department (the nearest) > department type > position or team kind > none; a tie refuses to open the '
            'period.'))
    base_score = serializers.CharField(required=False, help_text=NUMBER_HELP)
    rounding = serializers.ChoiceField(
        choices=Rounding.choices, required=False,
        help_text=gettext_lazy("Where scores are rounded to 0.01: line (each line, the default), part, or final "
                               "(only the final score)."))
    unit_share = serializers.CharField(
        required=False, allow_blank=True,
        help_text=gettext_lazy('A person template\'s share of the unit\'s result in the score at close, 0 to 1 '
                               '("0.6": 60 % the unit + 40 % the own sheet, S1-4\'s deputies). Empty or 0: the own '
                               'sheet alone.'))
    unit = serializers.ChoiceField(
        choices=UnitSource.choices, required=False, allow_blank=True,
        help_text=gettext_lazy("Whose result the unit share reads: department (the person's department, or the "
                               "nearest department above with a result) or team."))
    parts = TemplatePartSpecSerializer(many=True)
    raters = TemplateRaterSpecSerializer(many=True, required=False)


class TemplateProblemsSerializer(serializers.Serializer):
    problems = serializers.ListField(
        child=serializers.CharField(), help_text=gettext_lazy("Every reason the template was refused.")
    )


def flatten_errors(detail: Any, prefix: str = "") -> list[str]:
    """DRF's nested error structure as lines "parts[0].weight: This field is required."."""
    if isinstance(detail, Mapping):
        lines: list[str] = []
        for key, value in detail.items():
            if key == "non_field_errors":
                where = prefix
            elif isinstance(key, int):  # a list's items, by position
                where = f"{prefix}[{key}]"
            else:
                where = f"{prefix}.{key}" if prefix else str(key)
            lines += flatten_errors(value, where)
        return lines
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return [f"{prefix}: {item}" if prefix else str(item) for item in detail]
        lines = []
        for index, item in enumerate(detail):
            if item:
                lines += flatten_errors(item, f"{prefix}[{index}]")
        return lines
    return [f"{prefix}: {detail}" if prefix else str(detail)]


class TemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Appraisal templates (考核方案) with their parts, lines and raters, read-only once made:
    posting a template whose code exists makes its next version."""

    model = Template
    permission_resource = "template"
    serializer_class = TemplateSerializer
    filterset_class = TemplateFilter
    parser_classes = [JSONParser]

    def scoped_queryset(self) -> QuerySet[Template]:
        lines = TemplateLine.objects.select_related("indicator")
        parts = TemplatePart.objects.prefetch_related(Prefetch("lines", queryset=lines))
        return Template.objects.select_related("department_type").prefetch_related(
            Prefetch("parts", queryset=parts), Prefetch("raters", queryset=TemplateRater.objects.order_by("pk"))
        )

    @extend_schema(
        request=TemplateSpecSerializer,
        responses={201: TemplateSerializer, 400: TemplateProblemsSerializer},
        description="Builds a template from its spec in one transaction. A wrong template (weights that do not add "
                    "up, unknown indicators, raters missing …) is refused with every problem and nothing is written.",
    )
    def create(self, request: Request) -> Response:
        try:
            body = request.data
        except exceptions.ParseError as unreadable:  # this operation's 400 is always {"problems": […]}
            return Response({"problems": [str(unreadable.detail)]}, status=status.HTTP_400_BAD_REQUEST)
        shape = TemplateSpecSerializer(data=body)
        if not shape.is_valid():
            return Response({"problems": flatten_errors(shape.errors)}, status=status.HTTP_400_BAD_REQUEST)
        spec = request.data
        assert isinstance(spec, Mapping)  # the shape check has refused anything but a JSON object
        try:
            template = services.build_template(organization=self.tenant.organization, acting_user=self.actor, spec=spec)
        except services.TemplateRejected as rejected:
            return Response({"problems": rejected.problems}, status=status.HTTP_400_BAD_REQUEST)
        body = TemplateSerializer(self.get_queryset().get(pk=template.pk)).data
        return Response(body, status=status.HTTP_201_CREATED)

