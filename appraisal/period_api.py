"""REST API for periods: create, open, move along their states, close (with the incomplete sheets
named, or anyway with a reason), publish, send back to calibration, finalise, their next steps, and
the actuals upload. Split from appraisal.api (sheets and lines), which re-exports its names.

House style (organizations.api, appraisal.api): querysets come from scoped managers and selectors,
so another organisation's period is 404; the matrix lets HR run periods; a step the period's state
does not allow is 409 with the service's message, which names the state and what blocks the step.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from appraisal import actuals, period_steps, rollup_api, selectors, services
from appraisal.models import GradingPolicy, Period
from appraisal.periods import PERIODS_PER_YEAR
from appraisal.services import closing, window
from core.api import CONFLICT, conflict, readable_data
from indicators.models import Template
from organizations.api import ScopedRelatedField, TenantViewSet
from organizations.calendar import CalendarYearMissing
from organizations.import_api import ImportIssueSerializer
from organizations.models import Job

REASON_HELP = gettext_lazy("Why: kept in the audit trail.")


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
        fields = ["id", "code", "name", "kind", "year", "number", "start_day", "start_month", "start", "end", "state",
                  "self_due", "scoring_due", "review_due", "publish_due", "templates", "sheets_generated_at",
                  "grading_policy", "results_at", "published_at", "window_ends_at", "finalised_at",
                  "close_anyway_reason", "incomplete_at_close", "reopened_at", "reopen_reason"]
        read_only_fields = ["id", "code", "start", "end", "state", "sheets_generated_at",
                            "results_at", "published_at", "window_ends_at", "finalised_at", "close_anyway_reason",
                            "incomplete_at_close", "reopened_at", "reopen_reason"]
        extra_kwargs = {
            "year": {"min_value": 2000, "max_value": 2100},
            "number": {"min_value": 1, "help_text": gettext_lazy("Month 1–12, quarter 1–4, half 1–2, or 1.")},
            "start_day": {"min_value": 1, "max_value": 28,
                          "help_text": gettext_lazy("The day periods start on: 26 for books closed on the 25th.")},
            "start_month": {"min_value": 1, "max_value": 12, "help_text": gettext_lazy(
                "The month the year starts in: 9 for a school year (annual 2026 = 2026-09-01 to 2027-08-31, quarter 1 "
                "= September to November), 4 for an April fiscal year; 1 for calendar years.")},
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


class CloseSerializer(serializers.Serializer):
    anyway = serializers.BooleanField(
        required=False, default=False,
        help_text=gettext_lazy("Close although sheets are incomplete: every missing rating counts 0 and a line "
                               "without data scores 0 points; their results are flagged. Needs a reason."))
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=300,
                                   help_text=REASON_HELP)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text=REASON_HELP)


class IncompleteSheetSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    subject = serializers.CharField()


class IncompleteRefusalSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text=gettext_lazy("Names the period, the count and the first sheets."))
    # Only when sheets are incomplete; any other refusal (the period's state) is just the detail.
    incomplete = serializers.IntegerField(required=False, help_text=gettext_lazy("How many sheets are incomplete."))
    sheets = IncompleteSheetSerializer(many=True, required=False, help_text=gettext_lazy("The first of them."))


class BlockerSerializer(serializers.Serializer):
    text = serializers.CharField()
    url = serializers.CharField(help_text=gettext_lazy("Where to deal with it (a page), or empty."))


class StepSerializer(serializers.Serializer):
    step = serializers.CharField(source="code")
    label = serializers.CharField()  # type: ignore[assignment]
    legal = serializers.BooleanField()
    blockers = BlockerSerializer(many=True)
    needs_reason = serializers.BooleanField()


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

    @extend_schema(methods=["GET"], request=None, responses={200: rollup_api.RollupSerializer},
                   summary="The child periods rolled up into the period, and its templates' shares")
    @extend_schema(methods=["PUT"], request=rollup_api.RollupSerializer,
                   responses={200: rollup_api.RollupSerializer, 409: CONFLICT},
                   summary="Replace the child periods (weights adding up to 1) and set the templates' shares")
    @action(detail=True, methods=["get", "put"], filter_backends=[], pagination_class=None)
    def rollup(self, request: Request, pk: str | None = None) -> Response:
        period = self.get_object()
        if request.method == "PUT":
            data = rollup_api.RollupSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            try:
                rollup_api.save(period, dict(data.validated_data), acting_user=self.actor)
            except services.RollupRefused as refused:
                raise serializers.ValidationError({"children" if refused.field != "share" else "shares":
                                                   [str(refused)]}) from refused
            except services.IllegalTransition as refused:
                return conflict(refused)
        return Response(rollup_api.RollupSerializer(rollup_api.current(period)).data)

    @extend_schema(request=TransitionSerializer, responses={200: PeriodSerializer, 409: CONFLICT},
                   summary="Move a period to its next state (self-assessment, scoring, calibration, …)",
                   description="A step with its own service goes through it: open generates the sheets, published "
                               "and final are publish and finalise. Closing writes the results as a background "
                               "job and sending a closed period back to calibration needs a reason: both are "
                               "refused here (409, naming the state) in favour of close and reopen.")
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk: str | None = None) -> Response:
        period = self.get_object()
        data = TransitionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        target = data.validated_data["to"]
        if target == Period.State.OPEN:
            return self._open(period)  # opening also generates the sheets
        try:
            if target == Period.State.CLOSED:
                raise services.IllegalTransition(
                    _("Period %(period)s is %(state)s: closing writes its results as a background job; use “close”.")
                    % {"period": period.code, "state": period.get_state_display()})
            if target == Period.State.PUBLISHED:
                window.publish(period=period, acting_user=self.actor)
            elif target == Period.State.FINAL:
                window.finalise(period=period, acting_user=self.actor)
            else:
                services.transition(period=period, to=target, acting_user=self.actor,
                                    reason=data.validated_data.get("reason", ""))
        except (services.IllegalTransition, closing.ClosureRefused, CalendarYearMissing) as refused:
            return conflict(refused)
        return Response(PeriodSerializer(self.get_queryset().get(pk=period.pk)).data)

    @extend_schema(request=CloseSerializer, responses={202: JobSerializer, 409: IncompleteRefusalSerializer},
                   summary="Close a period in calibration (a background job)",
                   description="Checks the period can be closed and starts the close: every sheet is rescored, each "
                               "population graded against the quotas and the results written. Answers the job; poll "
                               "GET /api/jobs/{id}/ for its progress. A second request while it runs answers the same "
                               "job. Incomplete sheets (a rater has not rated, a line has no data) refuse it with 409 "
                               "naming how many and the first of them, unless anyway is true with a reason.")
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        period = self.get_object()
        data = CloseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            job = closing.start_close(period=period, acting_user=self.actor, anyway=data.validated_data["anyway"],
                                      reason=data.validated_data["reason"])
        except closing.IncompleteSheets as refused:
            first = selectors.visible_sheets(self.tenant).filter(pk__in=refused.sheet_ids).select_related(
                "person", "team", "department").order_by("pk")
            body = {"detail": str(refused), "incomplete": refused.count,
                    "sheets": [{"id": sheet.pk, "subject": sheet.subject_label} for sheet in first]}
            return Response(IncompleteRefusalSerializer(body).data, status=status.HTTP_409_CONFLICT)
        except (services.IllegalTransition, closing.ClosureRefused) as refused:
            return conflict(refused)
        return Response(JobSerializer(Job.objects.get(pk=job.pk)).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=ReasonSerializer, responses={200: PeriodSerializer, 409: CONFLICT},
                   summary="Send a closed period back to calibration (退回校准)",
                   description="Only before publication. The results are retired (kept in their audit trail, no "
                               "longer current), the pay runs computed from them are superseded, and the period is "
                               "in calibration again; the next close writes new results. 409 names the state.")
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        period = self.get_object()
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            closing.reopen_period(period=period, reason=data.validated_data["reason"], acting_user=self.actor)
        except (services.IllegalTransition, closing.ClosureRefused) as refused:
            return conflict(refused)
        return Response(PeriodSerializer(self.get_queryset().get(pk=period.pk)).data)

    @extend_schema(request=None, responses={200: PeriodSerializer, 409: CONFLICT},
                   summary="Finalise a published period once its review window has ended",
                   description="Results nobody appealed are confirmed. 409 while the window is open or an appeal is "
                               "still open, naming the end or the count.")
    @action(detail=True, methods=["post"])
    def finalise(self, request: Request, pk: str | None = None) -> Response:
        period = self.get_object()
        try:
            window.finalise(period=period, acting_user=self.actor)
        except (services.IllegalTransition, closing.ClosureRefused) as refused:
            return conflict(refused)
        return Response(PeriodSerializer(self.get_queryset().get(pk=period.pk)).data)

    @extend_schema(request=None, responses={200: StepSerializer(many=True)},
                   summary="The period's next steps, each legal or with what blocks it",
                   description="What the period page offers HR: from the period's state, each step the state "
                               "machine allows (open, self_assessment, scoring, calibration, back_to_scoring, close, "
                               "close_anyway, publish, reopen, finalise), whether it is possible now and if not why.")
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def steps(self, request: Request, pk: str | None = None) -> Response:
        period = self.get_object()
        sheets = selectors.visible_sheets(self.tenant).filter(period=period)
        return Response(StepSerializer(period_steps.cockpit(period, sheets).steps, many=True).data)

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
    upload = ActualsUploadSerializer(data=readable_data(request))
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
