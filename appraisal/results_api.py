"""REST API after scoring: results (calibrate, acknowledge), the close job's progress, appeals
(file with an attachment, forward, decide) and grading policies.

House style (appraisal.api): querysets come from the selectors, so another organisation's row, or
a row the caller may not see (a colleague's result or appeal), is 404. The matrix says who may
read or write at all; the per-object rules are the services' (HR calibrates; only the person a
result concerns acknowledges or appeals; the supervisor forwards; HR or the appeal group decides):
403 with the reason. A refusal in the current state is 409 with the service's message.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from appraisal import appeal_lines, appeals, grading, selectors, services
from appraisal.api import REASON_HELP, IdsFirstPages, JobSerializer
from appraisal.models import Appeal, GradingPolicy, OutcomeDecision, Result, SheetLine
from appraisal.policies import PolicyRejected, save_grading_policy
from appraisal.services import closing, outcomes
from core.api import CONFLICT, FORBIDDEN, MAX_ID, NOT_FOUND, conflict
from core.replica import replica_reads
from organizations.access import get_visible_or_404
from organizations.api import ScopedRelatedField, TenantViewSet, id_filter
from organizations.jobs import NotRestartable
from organizations.models import Job, Person, ReviewGroup
from organizations.roles import Role


def score_field(**kwargs: Any) -> serializers.DecimalField:
    """A score with the model's precision: 9 digits, 2 after the point."""
    return serializers.DecimalField(max_digits=9, decimal_places=2, **kwargs)


# --- results ------------------------------------------------------------------------------------


class FlagSerializer(serializers.Serializer):
    rule = serializers.CharField()
    outcome = serializers.CharField()
    message = serializers.CharField()
    grade = serializers.CharField(required=False, help_text=gettext_lazy("The grade a set_grade rule set."))


class ResultSerializer(serializers.ModelSerializer):
    subject = serializers.CharField(source="sheet.subject_label", read_only=True)
    flags = FlagSerializer(many=True, read_only=True)

    class Meta:
        model = Result
        fields = ["id", "period", "sheet", "subject_kind", "person", "subject", "population", "population_label",
                  "status", "raw_score", "calibrated_score", "calibration_reason", "appeal_score", "final_score",
                  "rank", "band_grade", "grade", "grade_label", "coefficient", "needs_calibration", "explanation",
                  "flags", "confirmed_at", "acknowledged_at"]
        read_only_fields = fields


class ResultFilter(filters.FilterSet):
    period = id_filter("period")
    person = id_filter("person")
    population = filters.CharFilter()
    grade = filters.CharFilter()
    needs_calibration = filters.BooleanFilter()


class CalibrateSerializer(serializers.Serializer):
    score = score_field(help_text=gettext_lazy("The new final score, within the policy's cap of the score at close."))
    reason = serializers.CharField(max_length=300, help_text=REASON_HELP)


class PersonOutcomeSerializer(serializers.Serializer):
    result = serializers.IntegerField()
    person = serializers.IntegerField()
    subject = serializers.CharField()
    rule = serializers.CharField()
    rule_name = serializers.CharField()
    outcome = serializers.CharField()
    message = serializers.CharField()
    state = serializers.ChoiceField(choices=[outcomes.PENDING, *OutcomeDecision.State.values])
    change = serializers.DictField(help_text=gettext_lazy('{"field": "salary_grade", "old": 5, "new": 4}: what '
                                                          "confirming writes, or wrote."))
    reason = serializers.CharField(allow_blank=True)
    decided_at = serializers.DateTimeField(allow_null=True)


class OutcomeQuerySerializer(serializers.Serializer):
    period = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text=gettext_lazy("The period's id."))


class DecideOutcomeSerializer(serializers.Serializer):
    rule = serializers.CharField(max_length=60, help_text=gettext_lazy("The rule's code, from the result's flags."))
    confirm = serializers.BooleanField(help_text=gettext_lazy("true: confirm; false: decline (with a reason)."))
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


def outcome_row(row: outcomes.PersonOutcome) -> dict[str, Any]:
    decision = row.decision
    return {"result": row.result.pk, "person": row.person.pk, "subject": str(row.person), "rule": row.rule,
            "rule_name": row.rule_name, "outcome": row.outcome, "message": row.message, "state": row.state,
            "change": decision.change if decision else row.proposed(), "reason": decision.reason if decision else "",
            "decided_at": decision.decided_at if decision else None}


class ResultViewSet(IdsFirstPages, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Results of closed periods. HR and finance see all; a head their departments'; an employee
    their own once the period is published."""

    model = Result
    permission_resource = "result"
    serializer_class = ResultSerializer
    filterset_class = ResultFilter

    def scoped_queryset(self) -> Any:
        return selectors.results_for_display(self.tenant).order_by("period_id", "population", "rank", "pk")

    @replica_reads()
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=CalibrateSerializer, responses={200: ResultSerializer, 403: FORBIDDEN, 409: CONFLICT},
                   summary="Calibrate a final score (HR, closed periods only)",
                   description="Moves the result's score within the policy's calibration cap (S1-9: ±5 %) and "
                               "regrades its population. A score outside the range is 400 naming the range.")
    @action(detail=True, methods=["post"])
    def calibrate(self, request: Request, pk: str | None = None) -> Response:
        result: Result = self.get_object()
        if not self.tenant.has(Role.HR_ADMIN):
            raise exceptions.PermissionDenied(_("Only HR may calibrate scores."))
        data = CalibrateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            closing.calibrate(result=result, score=data.validated_data["score"],
                              reason=data.validated_data["reason"], acting_user=self.actor)
        except grading.CalibrationError as refused:
            raise exceptions.ValidationError({"score": [refused.message]}) from None
        except (closing.ClosureRefused, services.IllegalTransition, grading.GradingError) as refused:
            return conflict(refused)
        return Response(ResultSerializer(self.get_queryset().get(pk=result.pk)).data)

    @extend_schema(request=None, responses={200: ResultSerializer, 403: FORBIDDEN, 409: CONFLICT},
                   summary="Acknowledge one's own published result")
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        result: Result = self.get_object()
        person = _own_person(self.tenant.person_id, result.person_id)
        try:
            appeals.acknowledge(result=result, acting_user=self.actor, person=person)
        except services.IllegalTransition as refused:
            return conflict(refused)
        return Response(ResultSerializer(self.get_queryset().get(pk=result.pk)).data)


    @extend_schema(parameters=[OutcomeQuerySerializer],
                   responses={200: PersonOutcomeSerializer(many=True), 403: FORBIDDEN, 404: NOT_FOUND},
                   summary="A period's person outcomes: salary grade ±1, unfit, eliminated (HR)",
                   description="Listed once the period is published; each pending, confirmed or declined, with "
                               "the change to the person (field, old → new).")
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def outcomes(self, request: Request) -> Response:
        if not self.tenant.has(Role.HR_ADMIN):
            raise exceptions.PermissionDenied(_("Only HR may confirm outcomes."))
        query = OutcomeQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        period = get_visible_or_404(selectors.visible_periods(self.tenant).select_related("grading_policy"),
                                    pk=query.validated_data["period"])
        return Response(PersonOutcomeSerializer([outcome_row(row) for row in outcomes.person_outcomes(period)],
                                                many=True).data)

    @extend_schema(request=DecideOutcomeSerializer,
                   responses={200: PersonOutcomeSerializer, 403: FORBIDDEN, 409: CONFLICT},
                   summary="Confirm (the change is written to the person) or decline an outcome (HR)",
                   description="Only once the period is final; once per result and rule. Declining needs a reason. "
                               "409 names why not (the state, an answer given already, no salary grade).")
    @action(detail=True, methods=["post"], url_path="decide-outcome")
    def decide_outcome(self, request: Request, pk: str | None = None) -> Response:
        result: Result = self.get_object()
        if not self.tenant.has(Role.HR_ADMIN):
            raise exceptions.PermissionDenied(_("Only HR may confirm outcomes."))
        data = DecideOutcomeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = data.validated_data["rule"]
        try:
            outcomes.decide_outcome(result=result, rule=rule, confirm=data.validated_data["confirm"],
                                    reason=data.validated_data["reason"], acting_user=self.actor)
        except (outcomes.OutcomeRefused, services.IllegalTransition) as refused:
            return conflict(refused)
        row = next(r for r in outcomes.person_outcomes(result.period) if r.result.pk == result.pk and r.rule == rule)
        return Response(PersonOutcomeSerializer(outcome_row(row)).data)


def _own_person(person_id: int | None, subject_id: int | None) -> Person:
    if person_id is None or person_id != subject_id:
        raise exceptions.PermissionDenied(_("Only the person a result concerns may do this."))
    return Person.objects.get(pk=person_id)


# --- jobs ---------------------------------------------------------------------------------------


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Background jobs (a period's close) with their progress: poll ``GET /jobs/{id}/`` until the
    state is done or failed; a failure carries the reason in ``message``."""

    model = Job
    permission_resource = "job"
    serializer_class = JobSerializer

    def scoped_queryset(self) -> Any:
        return Job.objects.all()

    @extend_schema(request=None, responses={202: JobSerializer, 409: CONFLICT},
                   summary="Restart a dead or failed close",
                   description="A job is dead when it has given no sign of life for JOB_DEAD_AFTER_SECONDS (its "
                               "worker was stopped or killed). The dead close is marked failed, saying since when it "
                               "was silent, and a new close starts with the same options; the sheets it rescored "
                               "and committed are not rescored again. Answers the new job. 409 when the job is "
                               "running or done, when the period can no longer be closed, or for a pay job (restart "
                               "those at /api/pay-jobs/{id}/restart/).")
    @action(detail=True, methods=["post"])
    def restart(self, request: Request, pk: str | None = None) -> Response:
        job: Job = self.get_object()
        if job.kind != Job.Kind.CLOSE_PERIOD:
            return conflict(NotRestartable(_("Pay computations and exports are restarted by finance: POST "
                                             "/api/pay-jobs/%(id)s/restart/.") % {"id": job.pk}))
        try:
            started = closing.restart_close(job=job, acting_user=self.actor)
        except (NotRestartable, services.IllegalTransition, closing.ClosureRefused) as refused:
            return conflict(refused)
        return Response(JobSerializer(Job.objects.get(pk=started.pk)).data, status=status.HTTP_202_ACCEPTED)


# --- appeals ------------------------------------------------------------------------------------


class AppealSerializer(serializers.ModelSerializer):
    attachment = serializers.SerializerMethodField(allow_null=True)
    line_data = serializers.SerializerMethodField(allow_null=True)

    class Meta:
        model = Appeal
        fields = ["id", "result", "line", "filed_by", "reason", "attachment", "state", "filed_at",
                  "supervisor_opinion", "forwarded_at", "decision_reason", "new_score", "line_data", "line_change",
                  "decided_at"]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "format": "uri-reference"})
    def get_attachment(self, appeal: Appeal) -> str | None:
        """Where to download the attachment (only for those who may see the appeal)."""
        if not appeal.attachment:
            return None
        return reverse("appeal-attachment", args=[appeal.pk])

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_line_data(self, appeal: Appeal) -> dict[str, Any] | None:
        """The appealed line's data as it stands, in the shape ``decide`` takes as ``line_data``
        (none for an appeal against the grade): its kind ("values", "ratings" or "records"), its
        score, and the values and inputs its method uses, each rater's rating, or its records."""
        if appeal.line is None:
            return None
        return appeal_lines.current_data(appeal.line)


class AppealCreateSerializer(serializers.Serializer):
    result = ScopedRelatedField(Result, help_text=gettext_lazy("Your own published result."))
    line = ScopedRelatedField(SheetLine, allow_null=True, required=False,
                              help_text=gettext_lazy("The line appealed against; none: the grade."))
    reason = serializers.CharField()
    attachment = serializers.FileField(required=False, allow_null=True)


class ForwardSerializer(serializers.Serializer):
    opinion = serializers.CharField(help_text=gettext_lazy("The supervisor's opinion."))


def value_field(**kwargs: Any) -> serializers.DecimalField:
    """A line value with the model's precision: 18 digits, 4 after the point."""
    return serializers.DecimalField(max_digits=18, decimal_places=4, **kwargs)


class RatingChangeSerializer(serializers.Serializer):
    rater = serializers.IntegerField(help_text=gettext_lazy("The rater (an id from the appeal's line_data)."))
    rating = serializers.CharField(required=False, allow_blank=True, default="", max_length=50,
                                   help_text=gettext_lazy("A label of the line's scale."))
    value = value_field(required=False, allow_null=True, default=None,
                        help_text=gettext_lazy("Or a value, for a line not rated on a scale."))


class RecordChangeSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text=gettext_lazy("A record of the line (from the appeal's line_data)."))
    count = serializers.IntegerField(min_value=0, max_value=1000, help_text=gettext_lazy("0 removes the record."))


class NewRecordSerializer(serializers.Serializer):
    item_code = serializers.CharField(max_length=30)
    count = serializers.IntegerField(min_value=1, max_value=1000, default=1)
    occurred_on = serializers.DateField()
    evidence = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class LineDataSerializer(serializers.Serializer):
    """The appealed line's new data: the keys its kind takes (see the appeal's ``line_data``)."""

    target = value_field(required=False, allow_null=True)
    actual = value_field(required=False, allow_null=True)
    inputs = serializers.DictField(child=value_field(allow_null=True), required=False,
                                   help_text=gettext_lazy("Named inputs; null removes one."))
    rating = serializers.CharField(required=False, allow_blank=True, max_length=50)
    accepted = serializers.BooleanField(required=False, allow_null=True)
    acceptance_round = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=32767)
    ratings = RatingChangeSerializer(many=True, required=False)
    records = RecordChangeSerializer(many=True, required=False)
    add_records = NewRecordSerializer(many=True, required=False)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [_("Not a field of a line's data.")] for name in unknown})
        return super().to_internal_value(data)


def line_change(data: dict[str, Any]) -> appeal_lines.LineChange:
    """The validated ``line_data`` as the service takes it."""
    return appeal_lines.LineChange(
        values={name: data[name] for name in appeal_lines.VALUE_FIELDS if name in data},
        inputs=data.get("inputs", {}),
        ratings=[appeal_lines.RatingChange(r["rater"], rating=r["rating"], value=r["value"])
                 for r in data.get("ratings", [])],
        records={r["id"]: r["count"] for r in data.get("records", [])},
        add_records=[appeal_lines.NewRecord(r["item_code"], r["count"], r["occurred_on"], r["evidence"])
                     for r in data.get("add_records", [])],
    )


class DecideSerializer(serializers.Serializer):
    upheld = serializers.BooleanField()
    reason = serializers.CharField(help_text=gettext_lazy("Shown to the employee."))
    new_score = score_field(required=False, allow_null=True,
                            help_text=gettext_lazy("Upholding an appeal against the grade: the result's new score."))
    line_data = LineDataSerializer(required=False, help_text=gettext_lazy(
        "Upholding an appeal against a line: the line's new data; the line, the sheet and the result are "
        "rescored from it."))


def _refused_data(refused: appeal_lines.DecisionDataRefused) -> exceptions.ValidationError:
    """400 naming the field: a top-level field, or one inside line_data ("inputs.coal" nested)."""
    if refused.field in ("new_score", "line_data"):
        return exceptions.ValidationError({refused.field: [refused.message]})
    detail: Any = [refused.message]
    for part in reversed(refused.field.split(".")):
        detail = {part: detail}
    return exceptions.ValidationError({"line_data": detail})


class AppealFilter(filters.FilterSet):
    state = filters.ChoiceFilter(choices=Appeal.State.choices)
    result = id_filter("result")
    period = id_filter("result__period")


class AppealViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Appeals against published results (S1-4): filed by the employee inside the review window,
    forwarded by the supervisor with an opinion, decided by HR or the policy's appeal group."""

    model = Appeal
    permission_resource = "appeal"
    serializer_class = AppealSerializer
    filterset_class = AppealFilter
    # Filing an appeal may upload its attachment (multipart); without one it is JSON. Forward and
    # decide read JSON only (decide's line_data is nested, which a form cannot carry).
    parser_classes = [JSONParser, MultiPartParser]

    def scoped_queryset(self) -> Any:
        return selectors.appeals_for_display(self.tenant)

    # Documented as multipart only (it carries the attachment): one body type per operation is what
    # generated clients handle. A JSON body without an attachment is read too.
    @extend_schema(request={"multipart/form-data": AppealCreateSerializer},
                   responses={201: AppealSerializer, 409: CONFLICT},
                   summary="File an appeal against one's own result (multipart, with an optional attachment)")
    def create(self, request: Request) -> Response:
        data = AppealCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        result: Result = values["result"]
        person_id = self.tenant.person_id
        own = person_id is not None and selectors.visible_results(self.tenant).filter(
            pk=result.pk, person_id=person_id).exists()
        if person_id is None or not own:
            raise exceptions.ValidationError({"result": [_("Choose one of your own published results.")]})
        try:
            appeal = appeals.file_appeal(result=result, acting_user=self.actor,
                                         filed_by=Person.objects.get(pk=person_id), reason=values["reason"],
                                         line=values.get("line"), attachment=values.get("attachment"))
        except appeals.AppealRefused as refused:
            return conflict(refused)
        return Response(AppealSerializer(self.get_queryset().get(pk=appeal.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ForwardSerializer, responses={200: AppealSerializer, 403: FORBIDDEN, 409: CONFLICT},
                   summary="Forward an appeal with the supervisor's opinion")
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def forward(self, request: Request, pk: str | None = None) -> Response:
        appeal: Appeal = self.get_object()
        if self.actor.pk not in appeals.supervisor_user_ids(appeal):
            raise exceptions.PermissionDenied(_("Only the appellant's supervisor may forward this appeal."))
        data = ForwardSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            appeals.forward_appeal(appeal=appeal, acting_user=self.actor, opinion=data.validated_data["opinion"])
        except (appeals.AppealRefused, services.IllegalTransition) as refused:
            return conflict(refused)
        return Response(AppealSerializer(self.get_queryset().get(pk=appeal.pk)).data)

    @extend_schema(request=DecideSerializer, responses={200: AppealSerializer, 403: FORBIDDEN, 409: CONFLICT},
                   summary="Decide an appeal: uphold (a line's new data, or the grade's new score), or reject",
                   description="Upholding an appeal against a line takes ``line_data``, the line's new data in "
                               "the shape of the appeal's ``line_data`` (values and inputs, raters' ratings, or "
                               "records: counts, 0 removing one, and ``add_records``); the line, its sheet and the "
                               "result are rescored and the population regraded. Upholding an appeal against the "
                               "grade takes ``new_score``. Data that does not fit the line is 400 naming the "
                               "field; an appeal answered already (naming who decided) or a period that no longer "
                               "takes decisions is 409 naming the state.")
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def decide(self, request: Request, pk: str | None = None) -> Response:
        appeal: Appeal = self.get_object()
        if not appeals.may_decide(appeal, is_hr=self.tenant.has(Role.HR_ADMIN), user=self.actor):
            raise exceptions.PermissionDenied(_("Only HR or the appeal group may decide this appeal."))
        data = DecideSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        change = line_change(values["line_data"]) if "line_data" in values else None
        try:
            appeals.decide_appeal(appeal=appeal, acting_user=self.actor, upheld=values["upheld"],
                                  reason=values["reason"], new_score=values.get("new_score"), line_change=change)
        except appeal_lines.DecisionDataRefused as refused:
            raise _refused_data(refused) from None
        except (appeals.AppealRefused, services.IllegalTransition, grading.GradingError) as refused:
            return conflict(refused)
        return Response(AppealSerializer(self.get_queryset().get(pk=appeal.pk)).data)


# --- grading policies ---------------------------------------------------------------------------


class GradingPolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = GradingPolicy
        fields = ["id", "code", "version", "name", "scale", "quotas", "rounding", "population", "calibration_share",
                  "status_grades", "rules", "appeal_group", "untold_extension_days", "created_at"]
        read_only_fields = fields


class GradingPolicyCreateSerializer(serializers.Serializer):
    """Shapes only: the policy itself is checked as a whole by the service, every problem named."""

    code = serializers.CharField(max_length=30)
    name = serializers.CharField(max_length=100)
    scale = serializers.JSONField(help_text=gettext_lazy('{"bands": [{"grade": "S", "label": "优秀", "from": "90", '
                                                         '"coefficient": "1.2"}, …]}'))
    quotas = serializers.JSONField(required=False, default=list,  # type: ignore[arg-type]
                                   help_text=gettext_lazy('[{"grade": "S", "op": "<=", "share": "0.05"}, …]'))
    rounding = serializers.CharField(required=False, default="half_up",
                                     help_text=gettext_lazy("half_up, down or up."))
    population = serializers.CharField(required=False, default=GradingPolicy.Population.ORGANIZATION,
                                       help_text=gettext_lazy("organization, department or department_type."))
    calibration_share = serializers.DecimalField(max_digits=5, decimal_places=4, required=False,
                                                 default=Decimal("0.05"))
    status_grades = serializers.JSONField(required=False, default=dict)
    rules = serializers.JSONField(required=False, default=list)  # type: ignore[arg-type]
    appeal_group = ScopedRelatedField(ReviewGroup, allow_null=True, required=False)
    untold_extension_days = serializers.IntegerField(
        min_value=0, max_value=30, required=False, default=0,
        help_text=gettext_lazy("Working days added to the review window of the people whose publication notice "
                               "failed (0: none)."))


class GradingPolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Grading policies, versioned: creating a policy with an existing code writes its next version.
    A refused policy is 400 with every problem, by field."""

    model = GradingPolicy
    permission_resource = "grading_policy"
    serializer_class = GradingPolicySerializer

    def scoped_queryset(self) -> Any:
        return selectors.grading_policies()

    @extend_schema(request=GradingPolicyCreateSerializer, responses={201: GradingPolicySerializer},
                   summary="Save a grading policy (a new version when the code exists)")
    def create(self, request: Request) -> Response:
        data = GradingPolicyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        try:
            policy = save_grading_policy(organization=self.tenant.organization, acting_user=self.actor, **values)
        except PolicyRejected as rejected:
            raise exceptions.ValidationError(rejected.problems) from None
        return Response(GradingPolicySerializer(self.get_queryset().get(pk=policy.pk)).data,
                        status=status.HTTP_201_CREATED)
