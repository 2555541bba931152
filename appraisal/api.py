"""REST API for periods, score sheets and their lines: open a period, enter data, rate, record
deductions and bonuses, upload actuals.

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

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from appraisal import actuals, selectors, services
from appraisal.models import DeductionRecord, GradingPolicy, Period, Rater, Rating, Sheet, SheetLine
from appraisal.periods import PERIODS_PER_YEAR
from appraisal.services import closing, window
from core.api import CONFLICT, FORBIDDEN, conflict
from core.numbers import to_decimal
from indicators import scoring
from indicators.models import LineSource, RaterRole, SubjectKind, Template
from organizations.api import ScopedRelatedField, TenantViewSet, id_filter
from organizations.calendar import CalendarYearMissing
from organizations.import_api import ImportIssueSerializer
from organizations.models import Department, Job, Person

REASON_HELP = gettext_lazy("Why: kept in the audit trail.")


def value_field(**kwargs: Any) -> serializers.DecimalField:
    """A line value with the model's precision: 18 digits, 4 of them after the point."""
    return serializers.DecimalField(max_digits=18, decimal_places=4, **kwargs)


# --- periods ------------------------------------------------------------------------------------


class PeriodFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=Period.Kind.choices)
    state = filters.ChoiceFilter(choices=Period.State.choices)
    year = filters.NumberFilter()


class PeriodSerializer(serializers.ModelSerializer):
    """One serializer for reading and creating, so the period's choice sets are described once."""

    templates = ScopedRelatedField(Template, many=True)
    grading_policy = ScopedRelatedField(GradingPolicy, required=False, allow_null=True,
                                        help_text=gettext_lazy("The grading policy version the period is closed "
                                                               "with; it can be chosen later."))
    name = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                 help_text=gettext_lazy("Blank: the code, e.g. 2025-10."))

    class Meta:
        model = Period
        fields = ["id", "code", "name", "kind", "year", "number", "start_day", "start", "end", "state", "self_due",
                  "scoring_due", "review_due", "publish_due", "templates", "sheets_generated_at", "grading_policy",
                  "results_at", "published_at", "window_ends_at", "finalised_at"]
        read_only_fields = ["id", "code", "start", "end", "state", "sheets_generated_at",
                            "results_at", "published_at", "window_ends_at", "finalised_at"]
        extra_kwargs = {
            "year": {"min_value": 2000, "max_value": 2100},
            "number": {"min_value": 1, "help_text": gettext_lazy("Month 1–12, quarter 1–4, half 1–2, or 1.")},
            "start_day": {"min_value": 1, "max_value": 28,
                          "help_text": gettext_lazy("The day periods start on: 26 for books closed on the 25th.")},
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        most = PERIODS_PER_YEAR[attrs["kind"]]
        if attrs["number"] > most:
            raise serializers.ValidationError(
                {"number": _("A %(kind)s period is numbered 1 to %(most)s.")
                 % {"kind": Period.Kind(attrs["kind"]).label, "most": most}}
            )
        return attrs


class ActualsUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="An .xlsx workbook with a sheet 实际值.")


class ActualsSummarySerializer(serializers.Serializer):
    rows = serializers.IntegerField(help_text=gettext_lazy("Rows read from the sheet."))
    lines_updated = serializers.IntegerField()
    lines_unchanged = serializers.IntegerField()
    sheets_updated = serializers.IntegerField()


class ActualsReportSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    # DRF's metaclass moves declared fields off the class, so Serializer.errors is not shadowed.
    errors = ImportIssueSerializer(many=True)  # type: ignore[assignment]
    summary = ActualsSummarySerializer(help_text=gettext_lazy("What the good rows do (dry run) or did (apply)."))


ACTUALS_SCHEMA: dict[str, Any] = {
    "request": {"multipart/form-data": ActualsUploadSerializer},
    "responses": {200: ActualsReportSerializer, 400: ActualsReportSerializer},
    "tags": ["periods"],
}


DEADLINES = ("self_due", "scoring_due", "review_due", "publish_due")


class GradingPolicyChoiceSerializer(serializers.Serializer):
    grading_policy = ScopedRelatedField(GradingPolicy, allow_null=True)


class TransitionSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=Period.State.choices)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200)


class JobSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True, help_text=gettext_lazy("0–100."))
    subject_type = serializers.SerializerMethodField(help_text=gettext_lazy(
        "What the job works on: appraisal.period (a close, a pay computation) or payroll.payrun (an export)."))

    class Meta:
        model = Job
        fields = ["id", "kind", "subject_type", "subject_id", "params", "state", "total", "done", "percent",
                  "message", "created_at", "started_at", "finished_at"]
        read_only_fields = fields

    def get_subject_type(self, job: Job) -> str:
        subject_type = ContentType.objects.get_for_id(job.subject_type_id)
        return f"{subject_type.app_label}.{subject_type.model}"


class PeriodViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, TenantViewSet):
    """Appraisal periods. HR creates a period as a draft with its templates and opens it; opening
    generates every sheet in the background, once the change is committed."""

    model = Period
    permission_resource = "period"
    serializer_class = PeriodSerializer
    filterset_class = PeriodFilter

    def scoped_queryset(self) -> QuerySet[Period]:
        return selectors.periods()

    def perform_create(self, serializer: Any) -> None:
        values = dict(serializer.validated_data)
        deadlines = {key: values.pop(key) for key in DEADLINES if key in values}
        period = services.create_period(
            organization=self.tenant.organization, acting_user=self.actor, deadlines=deadlines, **values
        )
        serializer.instance = self.get_queryset().get(pk=period.pk)

    @extend_schema(request=None, responses={200: PeriodSerializer, 409: CONFLICT},
                   summary="Open a draft period and generate its sheets")
    @action(detail=True, methods=["post"])
    def open(self, request: Request, pk: str | None = None) -> Response:
        return self._open(self.get_object())

    def _open(self, period: Period) -> Response:
        try:
            services.open_period(period=period, acting_user=self.actor)
        except services.IllegalTransition as refused:
            return conflict(refused)
        return Response(PeriodSerializer(self.get_queryset().get(pk=period.pk)).data)

    @extend_schema(request=GradingPolicyChoiceSerializer, responses={200: PeriodSerializer, 409: CONFLICT},
                   summary="Choose the grading policy version the period is closed with")
    @action(detail=True, methods=["post"], url_path="grading-policy")
    def grading_policy(self, request: Request, pk: str | None = None) -> Response:
        period = self.get_object()
        data = GradingPolicyChoiceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.set_grading_policy(period=period, policy=data.validated_data.get("grading_policy"),
                                        acting_user=self.actor)
        except services.IllegalTransition as refused:
            return conflict(refused)
        return Response(PeriodSerializer(self.get_queryset().get(pk=period.pk)).data)

    @extend_schema(request=TransitionSerializer, responses={200: PeriodSerializer, 409: CONFLICT},
                   summary="Move a period to its next state (self-assessment, scoring, calibration, …)")
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk: str | None = None) -> Response:
        period = self.get_object()
        data = TransitionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["to"] == Period.State.OPEN:
            return self._open(period)  # opening also generates the sheets
        try:
            services.transition(period=period, to=data.validated_data["to"], acting_user=self.actor,
                                reason=data.validated_data.get("reason", ""))
        except services.IllegalTransition as refused:
            return conflict(refused)
        return Response(PeriodSerializer(self.get_queryset().get(pk=period.pk)).data)

    @extend_schema(request=None, responses={202: JobSerializer, 409: CONFLICT},
                   summary="Close a period in calibration (a background job)",
                   description="Checks the period can be closed and starts the close: every sheet is rescored, each "
                               "population graded against the quotas and the results written. Answers the job; poll "
                               "GET /api/jobs/{id}/ for its progress. A second request while it runs answers the same "
                               "job.")
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        period = self.get_object()
        try:
            job = closing.start_close(period=period, acting_user=self.actor)
        except (services.IllegalTransition, closing.ClosureRefused) as refused:
            return conflict(refused)
        return Response(JobSerializer(Job.objects.get(pk=job.pk)).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: PeriodSerializer, 409: CONFLICT},
                   summary="Publish a closed period's results and open the review window",
                   description="Refused (409) while a result waits for calibration (a tie at a quota line, an "
                               "unenforceable cap). The answer carries window_ends_at.")
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str | None = None) -> Response:
        period = self.get_object()
        try:
            window.publish(period=period, acting_user=self.actor)
        except (services.IllegalTransition, closing.ClosureRefused, CalendarYearMissing) as refused:
            return conflict(refused)
        return Response(PeriodSerializer(self.get_queryset().get(pk=period.pk)).data)

    @extend_schema(
        operation_id="periods_actuals_dry_run",
        summary="Check an upload of actuals without writing",
        description="Reads the sheet 实际值 (对象编码, 指标编码, 实际值, 目标值, 说明) and reports every problem with "
                    "its row, column and value. Writes nothing.",
        **ACTUALS_SCHEMA,
    )
    @action(detail=True, methods=["post"], url_path="actuals/dry-run", url_name="actuals-dry-run",
            parser_classes=[MultiPartParser])
    def actuals_dry_run(self, request: Request, pk: str | None = None) -> Response:
        period = self.get_object()
        try:
            plan = actuals.validate_actuals(period=period, parsed=_parse_upload(request))
        except actuals.ActualsRejected as rejected:
            return _actuals_report(rejected.errors, rejected.summary, status.HTTP_400_BAD_REQUEST)
        return _actuals_report(plan.errors, plan.summary, status.HTTP_200_OK)

    @extend_schema(
        operation_id="periods_actuals_apply",
        summary="Upload actuals, all or nothing",
        description="Writes the actuals (and targets) of the period's data lines, rescores them and keeps an audit "
                    "row each, in one transaction. With any problem nothing is written and the answer is 400 with "
                    "every problem.",
        **ACTUALS_SCHEMA,
    )
    @action(detail=True, methods=["post"], url_path="actuals/apply", url_name="actuals-apply",
            parser_classes=[MultiPartParser])
    def actuals_apply(self, request: Request, pk: str | None = None) -> Response:
        period = self.get_object()
        try:
            plan = actuals.apply_actuals(period=period, parsed=_parse_upload(request), acting_user=self.actor)
        except actuals.ActualsRejected as rejected:
            return _actuals_report(rejected.errors, rejected.summary, status.HTTP_400_BAD_REQUEST)
        return _actuals_report([], plan.summary, status.HTTP_200_OK)


def _parse_upload(request: Request) -> actuals.ActualsRows:
    upload = ActualsUploadSerializer(data=request.data)
    if not upload.is_valid():
        raise actuals.ActualsRejected([actuals.ImportIssue(
            sheet="", row=None, column="", value="", code="no_file",
            message=_("Attach the .xlsx file in the form field “file”."),
        )])
    return actuals.parse_actuals(upload.validated_data["file"])


def _actuals_report(errors: list[actuals.ImportIssue], summary: actuals.ActualsSummary, code: int) -> Response:
    body = ActualsReportSerializer({
        "valid": not errors,
        "errors": [error.as_dict() for error in errors],
        "summary": summary.as_dict(),
    }).data
    return Response(body, status=code)


# --- sheets -------------------------------------------------------------------------------------


class SheetLineSerializer(serializers.ModelSerializer):
    indicator_code = serializers.CharField(source="indicator.code", read_only=True)
    indicator_name = serializers.CharField(source="indicator.name", read_only=True)
    unit = serializers.CharField(source="indicator.unit", read_only=True)

    class Meta:
        model = SheetLine
        fields = ["id", "sheet", "indicator", "indicator_code", "indicator_name", "unit", "part_code", "source",
                  "method", "config", "direction", "max_points", "target", "actual", "inputs", "rating", "accepted",
                  "acceptance_round", "score", "money", "explanation", "version", "sort_order"]
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
                  "explanation", "lines", "raters"]
        read_only_fields = fields


class SheetFilter(filters.FilterSet):
    period = id_filter("period")
    template = id_filter("template")
    subject_kind = filters.ChoiceFilter(choices=SubjectKind.choices)
    person = id_filter("person")
    team = id_filter("team")
    department = id_filter("department")


class SheetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Score sheets with their lines, each line with its score and explanation. HR and finance see
    every sheet; a head the sheets of their departments; everyone their own and those they rate."""

    model = Sheet
    permission_resource = "sheet"
    serializer_class = SheetSerializer
    filterset_class = SheetFilter

    def scoped_queryset(self) -> QuerySet[Sheet]:
        return selectors.sheets_with_lines(self.tenant)


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
        return selectors.visible_lines(self.tenant)

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
                    "saved the line since, the answer is 409 naming who and when.",
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
        except services.LineConflict as refused:
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
        responses={201: DeductionRecordSerializer, 403: FORBIDDEN},
        summary="Record a deduction or bonus occurrence",
        description="Adds an occurrence of one of the line's items (with its evidence) and rescores the line; the "
                    "caller is kept as who recorded it.",
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
        try:
            inspecting = self.tenant.inspecting_department_id
            record = services.record_deduction(
                line=line, acting_user=self.actor, recorded_by=recorded_by,
                recorder_department=Department.objects.filter(pk=inspecting).first() if inspecting else None,
                **data.validated_data,
            )
        except ValueError as error:
            items = {item.get("code") for item in (line.config or {}).get("items", [])}
            field = "evidence" if data.validated_data["item_code"] in items else "item_code"
            raise exceptions.ValidationError({field: [str(error)]}) from None
        return Response(DeductionRecordSerializer(record).data, status=status.HTTP_201_CREATED)
