"""REST API for score sheets and their lines: enter data, rate, record deductions and bonuses, set a
sheet's special status. The periods are appraisal.period_api (re-exported here: PeriodViewSet,
JobSerializer, REASON_HELP).

House style (organizations.api): querysets come from scoped managers and selectors, so another
organisation's row, or a sheet the caller may not see, is simply not found (404). The matrix says
which roles may read or write at all; who may change *this* line is decided per object:

* data (actuals, targets, inputs, recorded deductions and bonuses): HR, and the head of the
  subject's department but never on their own sheet (appraisal.selectors.may_enter_data);
  employees may not (403);
* ratings: only through the caller's own rater on that sheet (``POST /lines/{id}/rate/``); a
  caller who does not rate that sheet gets 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from appraisal import selectors, services
from appraisal.models import AcceptanceRound, DeductionRecord, Rater, Rating, Sheet, SheetLine, SpecialStatus
from appraisal.period_api import REASON_HELP, JobSerializer, PeriodViewSet
from appraisal.services.statuses import REASON_MAX
from core.api import CONFLICT, FORBIDDEN, conflict
from core.numbers import to_decimal
from indicators import scoring
from indicators.models import Indicator, LineSource, RaterRole, SubjectKind
from organizations.api import ScopedRelatedField, TenantViewSet, id_filter
from organizations.models import Department, Person
from organizations.permissions import can


def value_field(**kwargs: Any) -> serializers.DecimalField:
    """A line value with the model's precision: 18 digits, 4 of them after the point."""
    return serializers.DecimalField(max_digits=18, decimal_places=4, **kwargs)


# --- sheets -------------------------------------------------------------------------------------


class AcceptanceRoundSerializer(serializers.ModelSerializer):
    class Meta:
        model = AcceptanceRound
        fields = ["number", "passed", "reason", "inspected_by", "inspected_on", "recorded_at"]
        read_only_fields = fields


class SheetLineSerializer(serializers.ModelSerializer):
    indicator_code = serializers.CharField(source="indicator.code", read_only=True)
    indicator_name = serializers.CharField(source="indicator.name", read_only=True)
    unit = serializers.CharField(source="indicator.unit", read_only=True)
    is_added = serializers.BooleanField(read_only=True, help_text=gettext_lazy(
        "A work item added to this sheet alone (label is its name), not a line of the template."))
    acceptance_rounds = AcceptanceRoundSerializer(many=True, read_only=True, help_text=gettext_lazy(
        "Every acceptance inspection of a pass/fail line, in order: failed with the reason, then re-inspected."))

    class Meta:
        model = SheetLine
        fields = ["id", "sheet", "indicator", "indicator_code", "indicator_name", "unit", "part_code", "source",
                  "method", "config", "direction", "max_points", "target", "actual", "inputs", "rating", "accepted",
                  "acceptance_round", "score", "money", "explanation", "version", "sort_order", "label", "is_added",
                  "raw_score", "acceptance_rounds"]
        read_only_fields = fields


class SheetRaterSerializer(serializers.ModelSerializer):
    class Meta:
        model = Rater
        fields = ["id", "role", "person", "department", "weight", "recused", "recusal_reason"]
        read_only_fields = fields


class SheetSerializer(serializers.ModelSerializer):
    subject = serializers.CharField(source="subject_label", read_only=True)
    lines = SheetLineSerializer(many=True, read_only=True)
    raters = SheetRaterSerializer(many=True, read_only=True)

    class Meta:
        model = Sheet
        fields = ["id", "period", "template", "subject_kind", "person", "team", "department", "subject", "score",
                  "explanation", "special_status", "special_reason", "lines", "raters"]
        read_only_fields = fields


class SpecialStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=SpecialStatus.choices,
        help_text=gettext_lazy("exempt (免考), long_leave (长期请假), refused (拒不参加), or normal to clear it."))
    reason = serializers.CharField(max_length=REASON_MAX, help_text=REASON_HELP)


class AddLineSerializer(serializers.Serializer):
    indicator = ScopedRelatedField(Indicator, help_text=gettext_lazy("An active indicator of the catalogue."))
    max_points = value_field(help_text=gettext_lazy("The work item's full marks."))
    target = value_field(required=False, allow_null=True, default=None, help_text=gettext_lazy(
        "Blank: the benchmark or baseline a template line would start from."))
    # "label" is also Field.label in DRF; the metaclass moves declared fields away, so it is safe.
    label = serializers.CharField(  # type: ignore[assignment]
        required=False, allow_blank=True, default="", max_length=200,
        help_text=gettext_lazy("The work item's name (the indicator's when blank)."))
    part = serializers.CharField(required=False, allow_blank=True, default="", max_length=30, help_text=gettext_lazy(
        "The per-person part's code; only needed when the template has several."))
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=100, help_text=REASON_HELP)


class SheetFilter(filters.FilterSet):
    period = id_filter("period")
    template = id_filter("template")
    subject_kind = filters.ChoiceFilter(choices=SubjectKind.choices)
    person = id_filter("person")
    team = id_filter("team")
    department = id_filter("department")


class IdsFirstPages:
    """A list API's pages cut by id first: the ordered ids alone (an index-only scan where an index
    matches the ordering; no join, no wide sort), then only that page's rows with everything they
    show. Before, a late page sorted every row of the list, wide with its joins, often on disk."""

    def paginate_queryset(self, queryset: Any) -> list[Any] | None:
        if not isinstance(queryset, QuerySet):  # a list (a run's delta) is paged as it is
            return super().paginate_queryset(queryset)  # type: ignore[misc, no-any-return]
        ids = super().paginate_queryset(  # type: ignore[misc]
            queryset.select_related(None).prefetch_related(None).values_list("pk", flat=True))
        if ids is None:
            return None
        found = queryset.in_bulk(list(ids))
        return [found[pk] for pk in ids if pk in found]


class SheetViewSet(IdsFirstPages, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Score sheets with their lines, each line with its score and explanation. HR and finance see
    every sheet; a head the sheets of their departments; everyone their own and those they rate."""

    model = Sheet
    permission_resource = "sheet"
    serializer_class = SheetSerializer
    filterset_class = SheetFilter

    def scoped_queryset(self) -> QuerySet[Sheet]:
        return selectors.sheets_with_lines(self.tenant).prefetch_related("lines__acceptance_rounds")


    @extend_schema(request=SpecialStatusSerializer, responses={200: SheetSerializer, 403: FORBIDDEN, 409: CONFLICT},
                   summary="Set the sheet's special status (HR), with a reason",
                   description="Exempt, long leave or refused (what each means at close is the grading policy's), or "
                               "normal again. The reason is kept on the sheet and in its audit trail. A sheet with a "
                               "special status no longer blocks the close. 409 once the period is closed, naming its "
                               "state.")
    @action(detail=True, methods=["post"])
    def status(self, request: Request, pk: str | None = None) -> Response:
        sheet: Sheet = self.get_object()  # 404 before 403
        if not can(self.tenant, "period", "change"):
            raise exceptions.PermissionDenied(_("Only HR may set a special status."))
        data = SpecialStatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.set_special_status(sheet=sheet, status=data.validated_data["status"],
                                        reason=data.validated_data["reason"], acting_user=self.actor)
        except services.IllegalTransition as refused:
            return conflict(refused)
        except services.StatusRefused as refused:
            raise exceptions.ValidationError({"reason": [str(refused)]}) from None
        return Response(SheetSerializer(self.get_queryset().get(pk=sheet.pk)).data)


    @extend_schema(request=AddLineSerializer, responses={201: SheetLineSerializer, 403: FORBIDDEN, 409: CONFLICT},
                   summary="Add a work item (a line from the catalogue) to this sheet alone",
                   description="HR, or the head of the subject's department, adds a line for one subject (S0-1: "
                               "each person's own work items with targets) to a per-person part of the sheet's "
                               "template; the part keeps its weight, its points scaled to its full marks by the "
                               "sheet's lines. Audited. 400 naming why (no per-person part, the item is there "
                               "already …), 409 once the period no longer takes data.")
    @action(detail=True, methods=["post"], url_path="lines")
    def add_line(self, request: Request, pk: str | None = None) -> Response:
        sheet: Sheet = self.get_object()  # 404 before 403
        if not selectors.may_enter_data(self.tenant, sheet):
            raise exceptions.PermissionDenied(_("Only HR and the head of the department may enter this sheet's data."))
        data = AddLineSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        try:
            line = services.add_sheet_line(sheet_id=sheet.pk, acting_user=self.actor, part_code=values.pop("part"),
                                           **values)
        except services.IllegalTransition as refused:
            return conflict(refused)
        except (TypeError, ValueError) as error:
            raise exceptions.ValidationError({"indicator": [str(error)]}) from None
        fresh = selectors.visible_lines(self.tenant).prefetch_related("acceptance_rounds").get(pk=line.pk)
        return Response(SheetLineSerializer(fresh).data, status=status.HTTP_201_CREATED)


# --- lines --------------------------------------------------------------------------------------


class LineFilter(filters.FilterSet):
    sheet = id_filter("sheet")
    period = id_filter("sheet__period")
    indicator = id_filter("indicator")
    source = filters.ChoiceFilter(choices=LineSource.choices)


class LineUpdateSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1, help_text=gettext_lazy("The line's version as read; a stale one is refused with 409."),
    )
    target = value_field(allow_null=True, required=False)
    actual = value_field(allow_null=True, required=False)
    inputs = serializers.DictField(
        child=serializers.CharField(), required=False,
        help_text=gettext_lazy('Named values a formula reads, as strings: {"deposits": "1250.5"}.'),
    )
    rating = serializers.CharField(max_length=50, required=False, allow_blank=True)
    accepted = serializers.BooleanField(required=False, allow_null=True)
    acceptance_round = serializers.IntegerField(min_value=1, max_value=32767, required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=100, help_text=REASON_HELP)

    def validate_inputs(self, inputs: dict[str, str]) -> dict[str, str]:
        values = {}
        for name, value in inputs.items():
            try:
                values[name] = str(to_decimal(value, what=name))
            except (TypeError, ValueError) as error:
                raise serializers.ValidationError(str(error)) from None
        return values


class AcceptanceSerializer(serializers.Serializer):
    passed = serializers.BooleanField(help_text=gettext_lazy("Whether the item passed this acceptance inspection."))
    reason = serializers.CharField(required=False, allow_blank=True, default="", help_text=gettext_lazy(
        "Why it failed (required then): what is sent back for remediation."))
    inspected_on = serializers.DateField(required=False, allow_null=True, default=None,
                                         help_text=gettext_lazy("Blank: today."))
    round = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1, max_value=32767,
                                     help_text=gettext_lazy("Blank: the next round. An earlier one corrects it."))


class RemoveLineSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=100, help_text=REASON_HELP)


class RateSerializer(serializers.Serializer):
    rating = serializers.CharField(max_length=50, required=False, allow_blank=True, default="",
                                   help_text=gettext_lazy("A label of the line's scale."))
    actual = value_field(required=False, allow_null=True, default=None,
                                      help_text=gettext_lazy("A value, for lines scored from a value."))
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    version = serializers.IntegerField(
        required=False, allow_null=True, default=None,
        help_text=gettext_lazy("The version of your rating as read; a stale one is refused with 409."),
    )
    role = serializers.ChoiceField(
        choices=RaterRole.choices, required=False,
        help_text=gettext_lazy("Only needed when you rate this sheet in more than one role."),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("rating") and attrs.get("actual") is None:
            raise serializers.ValidationError({"rating": _("Give a rating or a value.")})
        return attrs


class RatingSerializer(serializers.ModelSerializer):
    role = serializers.CharField(source="rater.role", read_only=True)

    class Meta:
        model = Rating
        fields = ["id", "line", "rater", "role", "rating", "actual", "score", "comment", "version", "updated_at"]
        read_only_fields = fields


class RateResultSerializer(serializers.Serializer):
    rating = RatingSerializer()
    line = SheetLineSerializer()


class RecordCreateSerializer(serializers.Serializer):
    item_code = serializers.CharField(max_length=30, help_text=gettext_lazy("An item of the line's configuration."))
    count = serializers.IntegerField(min_value=1, default=1)
    occurred_on = serializers.DateField()
    evidence = serializers.CharField(required=False, allow_blank=True, default="")
    recorder_department = ScopedRelatedField(Department, allow_null=True, required=False)


class DeductionRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeductionRecord
        fields = ["id", "line", "item_code", "count", "occurred_on", "evidence", "recorded_by",
                  "recorder_department", "recorded_at"]
        read_only_fields = fields


class LineViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Lines of the sheets the caller may see. PATCH enters data (HR, or the head of the subject's
    department); ``rate`` records the caller's own rating; ``records`` adds a deduction or bonus
    occurrence. Every write is refused with 409 when the line changed since it was read."""

    model = SheetLine
    permission_resource = "sheet"
    serializer_class = SheetLineSerializer
    filterset_class = LineFilter

    def scoped_queryset(self) -> QuerySet[SheetLine]:
        return selectors.visible_lines(self.tenant).prefetch_related("acceptance_rounds")

    def _line_for_data_entry(self) -> SheetLine:
        line: SheetLine = self.get_object()  # 404 before 403: an invisible line does not exist
        if not selectors.may_enter_data(self.tenant, line.sheet):
            raise exceptions.PermissionDenied(_("Only HR and the head of the department may enter this sheet's data."))
        return line

    def _fresh(self, line: SheetLine) -> SheetLine:
        fresh: SheetLine = self.get_queryset().get(pk=line.pk)
        return fresh

    @extend_schema(
        request=LineUpdateSerializer,
        responses={200: SheetLineSerializer, 403: FORBIDDEN, 409: CONFLICT},
        description="Enters data on a line scored from data and rescores it. Send the version you read; if someone "
                    "saved the line since, the answer is 409 naming who and when. 409 too once the period no longer "
                    "takes data (closed, published …), naming its state.",
    )
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        line = self._line_for_data_entry()
        if line.source != LineSource.DATA:
            raise exceptions.ValidationError(
                {"source": [_("This line is scored by raters; raters rate it through “rate”.")]}
            )
        data = LineUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        version = changes.pop("version")
        reason = changes.pop("reason", "")
        try:
            services.update_line(line_id=line.pk, expected_version=version, acting_user=self.actor, reason=reason,
                                 **changes)
        except (services.IllegalTransition, services.LineConflict) as refused:  # a closed period, a stale version
            return conflict(refused)
        return Response(SheetLineSerializer(self._fresh(line)).data)

    @extend_schema(
        request=RateSerializer,
        responses={200: RateResultSerializer, 409: CONFLICT},
        summary="Rate a line as one of the sheet's raters",
        description="Records the caller's own rating of a line scored by raters (a self-assessment, a supervisor's "
                    "rating …) and recombines the line's score. 404 when the caller does not rate this sheet; 409 "
                    "when recused or when the rating changed since it was read.",
    )
    @action(detail=True, methods=["post"])
    def rate(self, request: Request, pk: str | None = None) -> Response:
        line: SheetLine = self.get_object()
        data = RateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        rater = self._own_rater(line, values.pop("role", None))
        try:
            rating = services.rate_line(
                line=line, rater=rater, acting_user=self.actor, rating=values["rating"], actual=values["actual"],
                comment=values["comment"], expected_version=values["version"],
            )
        except (services.IllegalTransition, services.LineConflict) as refused:
            return conflict(refused)
        except scoring.ScoringError as error:
            raise exceptions.ValidationError({"rating": [str(error)]}) from None
        body = RateResultSerializer({"rating": rating, "line": self._fresh(line)}).data
        return Response(body)

    @extend_schema(
        request=AcceptanceSerializer,
        responses={200: SheetLineSerializer, 403: FORBIDDEN, 409: CONFLICT},
        summary="Record an acceptance round of a pass/fail line (验收)",
        description="The next round (or an earlier one, to correct it): passed, or failed with the reason, which "
                    "sends the item back for remediation. The caller's person is kept as the inspector. The line "
                    "is scored on its latest round and its acceptance_rounds list every round. 400 naming why (not "
                    "a pass/fail line, passed already, no reason for a failure), 409 once the period is closed.",
    )
    @action(detail=True, methods=["post"])
    def acceptance(self, request: Request, pk: str | None = None) -> Response:
        line = self._line_for_data_entry()
        data = AcceptanceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            services.record_acceptance(line_id=line.pk, passed=values["passed"], reason=values["reason"],
                                       inspected_on=values["inspected_on"], number=values["round"],
                                       acting_user=self.actor)
        except services.IllegalTransition as refused:
            return conflict(refused)
        except ValueError as error:
            field = "reason" if not values["passed"] and not values["reason"].strip() else "passed"
            raise exceptions.ValidationError({field: [str(error)]}) from None
        return Response(SheetLineSerializer(self._fresh(line)).data)

    @extend_schema(
        request=RemoveLineSerializer,
        responses={204: None, 403: FORBIDDEN, 409: CONFLICT},
        summary="Take a work item added to one sheet off it again",
        description="Only a line added to the sheet (is_added); the template's lines stay. Audited; the sheet is "
                    "rescored. 400 for a template line, 409 once the period no longer takes data.",
    )
    @action(detail=True, methods=["post"])
    def remove(self, request: Request, pk: str | None = None) -> Response:
        line = self._line_for_data_entry()
        data = RemoveLineSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.remove_sheet_line(line_id=line.pk, acting_user=self.actor, reason=data.validated_data["reason"])
        except services.IllegalTransition as refused:
            return conflict(refused)
        except ValueError as error:
            raise exceptions.ValidationError({"line": [str(error)]}) from None
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _own_rater(self, line: SheetLine, role: str | None) -> Rater:
        person_id = self.tenant.person_id
        if person_id is None:
            raise exceptions.NotFound(_("You do not rate this sheet."))
        raters = Rater.objects.filter(sheet_id=line.sheet_id, person_id=person_id)
        if role:
            raters = raters.filter(role=role)
        mine = list(raters.order_by("recused", "pk"))
        if not mine:
            raise exceptions.NotFound(_("You do not rate this sheet."))
        if len({rater.role for rater in mine}) > 1:
            raise exceptions.ValidationError(
                {"role": [_("You rate this sheet in several roles; say which one.")]}
            )
        return mine[0]

    @extend_schema(
        request=RecordCreateSerializer,
        responses={201: DeductionRecordSerializer, 403: FORBIDDEN, 409: CONFLICT},
        summary="Record a deduction or bonus occurrence",
        description="Adds an occurrence of one of the line's items (with its evidence) and rescores the line; the "
                    "caller is kept as who recorded it. 409 once the period no longer takes data, naming its state.",
    )
    @action(detail=True, methods=["post"])
    def records(self, request: Request, pk: str | None = None) -> Response:
        line: SheetLine = self.get_object()  # 404 before 403
        if not selectors.may_record(self.tenant, line.sheet):
            raise exceptions.PermissionDenied(
                _("Only HR, the head of the department or an inspecting department may record here.")
            )
        data = RecordCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        person_id = self.tenant.person_id
        recorded_by = Person.objects.filter(pk=person_id).first() if person_id else None
        values = dict(data.validated_data)
        # An inspector records for their inspecting department; anyone else may name the department.
        named = values.pop("recorder_department", None)
        inspecting = self.tenant.inspecting_department_id
        try:
            record = services.record_deduction(
                line=line, acting_user=self.actor, recorded_by=recorded_by,
                recorder_department=Department.objects.filter(pk=inspecting).first() if inspecting else named,
                **values,
            )
        except services.IllegalTransition as refused:
            return conflict(refused)
        except ValueError as error:
            items = {item.get("code") for item in (line.config or {}).get("items", [])}
            field = "evidence" if data.validated_data["item_code"] in items else "item_code"
            raise exceptions.ValidationError({field: [str(error)]}) from None
        return Response(DeductionRecordSerializer(record).data, status=status.HTTP_201_CREATED)


__all__ = ["REASON_HELP", "JobSerializer", "LineViewSet", "PeriodViewSet", "SheetViewSet", "value_field"]
