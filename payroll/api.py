"""REST API for pay: policies, per-period inputs, pay runs (slips, delta, confirm, exports), pay
slips, pay jobs (progress and download) and computing a period's pay.

House style (appraisal.api): querysets come from payroll.selectors, so another organisation's row,
or a slip the caller may not see, is 404. The matrix says who may read or write: HR and finance
read pay, finance computes, confirms and exports, HR writes policies; an employee reads their own
slips of confirmed runs. A refusal in the current state is 409 with the service's message.
"""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from appraisal.api import IdsFirstPages, JobSerializer
from appraisal.models import Period
from appraisal.services import IllegalTransition
from core.api import CONFLICT, DetailSerializer, conflict
from core.replica import replica_reads
from organizations.api import ScopedRelatedField, TenantViewSet, id_filter
from organizations.jobs import NotRestartable
from organizations.models import Department, DepartmentType, Job, Person
from payroll import budgets, exports, selectors, services, tasks
from payroll.exports import FORMATS, KINDS, filename
from payroll.models import PayBudget, PayInput, PayPolicy, PayRun, PaySlip

# What a finished export is sent as: the schema documents both, the download says which.
EXPORT_MEDIA_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                      "csv": "text/csv; charset=utf-8"}


def money_field(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=16, decimal_places=2, **kwargs)


# --- policies -----------------------------------------------------------------------------------


class PayPolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = PayPolicy
        fields = ["id", "code", "version", "name", "department_type", "effective_from", "effective_to", "period_kind",
                  "requires_grade", "components", "inputs", "text_inputs", "created_at"]
        read_only_fields = fields


class PayPolicyCreateSerializer(serializers.Serializer):
    """Shapes only: the components are checked by the engine when saved, the wrong setting named."""

    code = serializers.CharField(max_length=30)
    name = serializers.CharField(max_length=100)
    department_type = ScopedRelatedField(DepartmentType, allow_null=True, required=False,
                                         help_text=gettext_lazy("None: everyone not covered by another policy."))
    effective_from = serializers.DateField()
    effective_to = serializers.DateField(allow_null=True, required=False)
    period_kind = serializers.ChoiceField(
        choices=Period.Kind.choices, allow_blank=True, required=False, default="",
        help_text=gettext_lazy("Blank: periods of any kind. For one department type a policy of the period's kind "
                               "wins over one of any kind."))
    requires_grade = serializers.BooleanField(
        required=False, default=True,
        help_text=gettext_lazy("False: everyone with a result is paid, graded or not (piece rates). True: people "
                               "without a grade are named in the run's notes and not paid."))
    components = serializers.ListField(
        child=serializers.DictField(), allow_empty=False,
        help_text=gettext_lazy('[{"code": "perf", "name": "绩效工资", "kind": "grade_coefficient", "config": {…}}, …]'))
    inputs = serializers.ListField(child=serializers.CharField(max_length=40), required=False, default=list,
                                   help_text=gettext_lazy("Names of the number inputs the components read."))
    text_inputs = serializers.ListField(child=serializers.CharField(max_length=40), required=False, default=list)


class PayPolicyFilter(filters.FilterSet):
    code = filters.CharFilter()
    department_type = id_filter("department_type")


class PayPolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Pay policies, versioned and effective-dated: creating one with an existing code writes its next
    version. A refused policy is 400 naming the wrong setting, e.g. components[0].config.rate."""

    model = PayPolicy
    permission_resource = "pay_policy"
    serializer_class = PayPolicySerializer
    filterset_class = PayPolicyFilter

    def scoped_queryset(self) -> QuerySet[PayPolicy]:
        return selectors.pay_policies()

    @extend_schema(request=PayPolicyCreateSerializer, responses={201: PayPolicySerializer},
                   summary="Save a pay policy (a new version when the code exists)")
    def create(self, request: Request) -> Response:
        data = PayPolicyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            policy = services.save_pay_policy(organization=self.tenant.organization, acting_user=self.actor,
                                              **data.validated_data)
        except services.PolicyRejected as rejected:
            top = rejected.field.split("[", 1)[0].split(".", 1)[0]
            raise exceptions.ValidationError({top: [str(rejected)]}) from None
        return Response(PayPolicySerializer(self.get_queryset().get(pk=policy.pk)).data,
                        status=status.HTTP_201_CREATED)


# --- inputs -------------------------------------------------------------------------------------


class PayInputSerializer(serializers.ModelSerializer):
    class Meta:
        model = PayInput
        fields = ["id", "period", "person", "department", "name", "value", "text"]
        read_only_fields = fields


class PayInputWriteSerializer(serializers.Serializer):
    period = ScopedRelatedField(Period)
    person = ScopedRelatedField(Person, allow_null=True, required=False)
    department = ScopedRelatedField(Department, allow_null=True, required=False)
    name = serializers.CharField(max_length=40, help_text=gettext_lazy("An input a pay policy in force declares."))
    value = serializers.DecimalField(max_digits=18, decimal_places=4, allow_null=True, required=False, default=None)
    text = serializers.CharField(max_length=50, allow_blank=True, required=False, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs.get("person") is None) == (attrs.get("department") is None):
            raise serializers.ValidationError({"person": [_("Give either a person or a department.")]})
        return attrs


class PayInputFilter(filters.FilterSet):
    period = id_filter("period")
    person = id_filter("person")
    department = id_filter("department")
    name = filters.CharFilter()


class PayInputViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Numbers (and texts) pay components read for one period, per person or per department. POST
    sets one: a second POST for the same period, person or department and name replaces the value.
    A computed run is not changed: compute the period again for the next version."""

    model = PayInput
    permission_resource = "pay_input"
    serializer_class = PayInputSerializer
    filterset_class = PayInputFilter

    def scoped_queryset(self) -> QuerySet[PayInput]:
        return selectors.pay_inputs()

    @extend_schema(request=PayInputWriteSerializer, responses={200: PayInputSerializer, 201: PayInputSerializer},
                   summary="Set a pay input of a period (an upsert)")
    def create(self, request: Request) -> Response:
        data = PayInputWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        period = values.pop("period")
        existed = PayInput.objects.filter(period=period, name=values["name"], person=values.get("person"),
                                          department=values.get("department")).exists()
        try:
            saved = services.save_pay_input(organization=self.tenant.organization, acting_user=self.actor,
                                            period=period, **values)
        except services.InputRejected as rejected:
            raise exceptions.ValidationError({rejected.field: [rejected.message]}) from None
        return Response(PayInputSerializer(self.get_queryset().get(pk=saved.pk)).data,
                        status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)


# --- budgets ------------------------------------------------------------------------------------


class PayBudgetSerializer(serializers.ModelSerializer):
    class Meta:
        model = PayBudget
        fields = ["id", "period", "department", "amount"]
        read_only_fields = fields


class PayBudgetWriteSerializer(serializers.Serializer):
    period = ScopedRelatedField(Period)
    department = ScopedRelatedField(Department)
    amount = money_field(help_text=gettext_lazy("The labour cost the department's pay (sub-departments included) "
                                                "may reach in the period, to the fen."))


class PayBudgetFilter(filters.FilterSet):
    period = id_filter("period")
    department = id_filter("department")


class PayBudgetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Labour-cost budgets per department and period (S1-4). POST sets one: a second POST for the
    same period and department replaces the amount. A run over budget is flagged, and confirmed
    only with a reason."""

    model = PayBudget
    permission_resource = "pay"
    serializer_class = PayBudgetSerializer
    filterset_class = PayBudgetFilter

    def scoped_queryset(self) -> QuerySet[PayBudget]:
        return PayBudget.objects.select_related("period", "department").order_by("period_id", "department_id")

    @extend_schema(request=PayBudgetWriteSerializer, responses={200: PayBudgetSerializer, 201: PayBudgetSerializer},
                   summary="Set a department's labour-cost budget for a period (an upsert)")
    def create(self, request: Request) -> Response:
        data = PayBudgetWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        existed = PayBudget.objects.filter(period=values["period"], department=values["department"]).exists()
        try:
            saved = budgets.save_pay_budget(organization=self.tenant.organization, acting_user=self.actor, **values)
        except budgets.BudgetRejected as rejected:
            raise exceptions.ValidationError({rejected.field: [rejected.message]}) from None
        return Response(PayBudgetSerializer(self.get_queryset().get(pk=saved.pk)).data,
                        status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)


# --- runs and slips -----------------------------------------------------------------------------


class PayRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = PayRun
        fields = ["id", "period", "version", "state", "reason", "policies", "people", "total", "components",
                  "component_totals", "notes", "computed_at", "computed_by", "confirmed_at", "confirmed_by",
                  "provisional", "waiting", "waiting_names", "superseded_at", "superseded_reason", "over_budget",
                  "budget_override_reason"]
        read_only_fields = fields


class ConfirmSerializer(serializers.Serializer):
    budget_override_reason = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default="",
        help_text=gettext_lazy("Why the run is paid over a labour-cost budget; needed only then."))


class PayLineSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    amount = serializers.CharField(help_text=gettext_lazy("Yuan to the fen, as a string: \"720.00\"."))
    paid = serializers.BooleanField(help_text=gettext_lazy("False: a step of the computation, not paid out."))
    explanation = serializers.CharField()


class PaySlipSerializer(serializers.ModelSerializer):
    employee_no = serializers.CharField(source="person.employee_no", read_only=True)
    name = serializers.CharField(source="person.name", read_only=True)
    lines = PayLineSerializer(many=True, read_only=True)

    class Meta:
        model = PaySlip
        fields = ["id", "run", "person", "employee_no", "name", "department", "grade", "total", "lines", "balances"]
        read_only_fields = fields


class DeltaRowSerializer(serializers.Serializer):
    person = serializers.IntegerField(source="person_id")
    department = serializers.IntegerField(source="department_id")
    old_total = money_field()
    new_total = money_field()
    difference = money_field()
    changes = serializers.SerializerMethodField(help_text=gettext_lazy("New − old amount per paid component."))

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string", "format": "decimal"}})
    def get_changes(self, row: services.DeltaRow) -> dict[str, str]:
        codes = sorted(row.old.keys() | row.new.keys())
        return {code: format(row.change(code), "f") for code in codes if row.change(code)}


class ExportRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[(k, k) for k in KINDS])
    format = serializers.ChoiceField(choices=[(f, f) for f in FORMATS])


class PayJobSerializer(JobSerializer):
    # The schema is in English for everyone (organizations.schema), so this text needs no translation.
    download = serializers.SerializerMethodField(allow_null=True, help_text=(
        "Where to fetch a finished export's file (a path); null for a computation or an unfinished export."))

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "download"]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "format": "uri-reference"})
    def get_download(self, job: Job) -> str | None:
        """Where to fetch the file once an export is done."""
        if job.kind != exports.EXPORT_JOB or job.state != Job.State.DONE or not job.file:
            return None
        return reverse("api-payroll:pay-job-download", args=[job.pk])


class PayRunFilter(filters.FilterSet):
    period = id_filter("period")
    state = filters.ChoiceFilter(choices=PayRun.State.choices)


class PayRunViewSet(IdsFirstPages, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Pay runs, one per version of a period's pay. Finance confirms the latest version, which locks
    it, and exports the pay sheet, the delta sheet and the bank list as background jobs."""

    model = PayRun
    permission_resource = "pay"
    serializer_class = PayRunSerializer
    filterset_class = PayRunFilter

    def scoped_queryset(self) -> QuerySet[PayRun]:
        return selectors.pay_runs().order_by("-period__start", "-version")

    @extend_schema(responses=PaySlipSerializer(many=True), summary="The run's pay slips, page by page")
    @action(detail=True, methods=["get"], filter_backends=[])
    @replica_reads()
    def slips(self, request: Request, pk: str | None = None) -> Response:
        run = self.get_object()
        slips = PaySlip.objects.filter(run=run).select_related("person").order_by("department_id", "person_id")
        page = self.paginate_queryset(slips)
        return self.get_paginated_response(PaySlipSerializer(page, many=True).data)

    @extend_schema(responses=DeltaRowSerializer(many=True),
                   summary="Who is paid differently than in the previous version, by component")
    @action(detail=True, methods=["get"], filter_backends=[])
    def delta(self, request: Request, pk: str | None = None) -> Response:
        run = self.get_object()
        page = self.paginate_queryset(services.delta(run=run))  # type: ignore[arg-type]
        return self.get_paginated_response(DeltaRowSerializer(page, many=True).data)

    @extend_schema(request=ConfirmSerializer, responses={200: PayRunSerializer, 409: CONFLICT},
                   summary="Confirm and lock the run",
                   description="Only the latest computed version may be confirmed; otherwise 409 naming its state "
                               "or the version that supersedes it. Also 409 while the run is provisional (people's "
                               "results of the period still wait for calibration: the answer names them) or "
                               "superseded (the period went back to calibration after it was computed), and over a "
                               "labour-cost budget unless budget_override_reason is given (the answer names the "
                               "departments, their budgets and costs).")
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str | None = None) -> Response:
        run = self.get_object()
        data = ConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.confirm_pay_run(run=run, acting_user=self.actor,
                                     budget_override_reason=data.validated_data["budget_override_reason"])
        except IllegalTransition as refused:
            return conflict(refused)
        return Response(PayRunSerializer(self.get_queryset().get(pk=run.pk)).data)

    @extend_schema(request=ExportRequestSerializer, responses={202: PayJobSerializer},
                   summary="Export the run (a background job)",
                   description="Starts writing the pay sheet, the delta sheet or the bank list as xlsx or csv. "
                               "Poll GET /api/pay-jobs/{id}/ until done, then fetch its download link. The same "
                               "export asked again while it runs answers the same job.")
    @action(detail=True, methods=["post"])
    def exports(self, request: Request, pk: str | None = None) -> Response:
        run = self.get_object()
        data = ExportRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = exports.start_export(run=run, kind=data.validated_data["kind"], fmt=data.validated_data["format"],
                                    acting_user=self.actor)
        return Response(PayJobSerializer(Job.objects.get(pk=job.pk)).data, status=status.HTTP_202_ACCEPTED)


class PaySlipFilter(filters.FilterSet):
    run = id_filter("run")
    period = id_filter("run__period")
    person = id_filter("person")
    department = id_filter("department")


class PaySlipViewSet(IdsFirstPages, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Pay slips with their lines and explanations. HR and finance see every slip; anyone else their
    own, of confirmed runs only."""

    model = PaySlip
    permission_resource = "pay_slip"
    serializer_class = PaySlipSerializer
    filterset_class = PaySlipFilter

    def scoped_queryset(self) -> QuerySet[PaySlip]:
        return selectors.visible_slips(self.tenant).order_by("-run__period__start", "-run__version", "person_id")


# --- jobs ---------------------------------------------------------------------------------------


class PayJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Pay computations and exports with their progress (GET /jobs/ is the close's, HR's only):
    poll until done or failed; a failure carries the reason in ``message``, a finished export its
    download link."""

    model = Job
    permission_resource = "pay"
    serializer_class = PayJobSerializer

    def scoped_queryset(self) -> QuerySet[Job]:
        return selectors.pay_jobs()

    @extend_schema(responses={(200, EXPORT_MEDIA_TYPES["xlsx"]): OpenApiTypes.BINARY,
                              (200, "text/csv"): OpenApiTypes.BINARY,
                              404: OpenApiResponse(DetailSerializer, description="No such finished export.")},
                   summary="Download a finished export")
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str | None = None) -> FileResponse:
        job: Job = self.get_object()
        if job.kind != exports.EXPORT_JOB or job.state != Job.State.DONE or not job.file:
            raise Http404
        kind, fmt = selectors.export_of(job)
        run = selectors.pay_runs().filter(pk=job.subject_id).first()
        if run is None:
            raise Http404
        return FileResponse(job.file.open("rb"), as_attachment=True, filename=filename(run, kind, fmt),
                            content_type=EXPORT_MEDIA_TYPES[fmt])

    @extend_schema(request=None, responses={202: PayJobSerializer, 409: CONFLICT},
                   summary="Restart a dead or failed pay computation or export",
                   description="A job is dead when it has given no sign of life for JOB_DEAD_AFTER_SECONDS (its "
                               "worker was stopped or killed). The dead job is marked failed, saying since when it "
                               "was silent, and a new job starts: a computation computes from the results as they "
                               "stand (a new version only if anything changed), an export writes its file again. "
                               "Answers the new job. 409 when the job is running or done, naming why.")
    @action(detail=True, methods=["post"])
    def restart(self, request: Request, pk: str | None = None) -> Response:
        job: Job = self.get_object()
        try:
            if job.kind == exports.EXPORT_JOB:
                started = exports.restart_export(job=job, acting_user=self.actor)
            else:
                started = tasks.restart_computation(job=job, acting_user=self.actor)
        except NotRestartable as refused:
            return conflict(refused)
        return Response(PayJobSerializer(Job.objects.get(pk=started.pk)).data, status=status.HTTP_202_ACCEPTED)


# --- computing a period's pay -------------------------------------------------------------------


class ComputeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                   help_text=gettext_lazy("Kept on the new version, e.g. a late input."))


class PayPeriodViewSet(TenantViewSet):
    """Pay actions on a period: ``POST /periods/{id}/pay-run/`` computes its pay now."""

    model = Period
    permission_resource = "pay"
    serializer_class = PayRunSerializer

    def scoped_queryset(self) -> QuerySet[Period]:
        return Period.objects.all()

    @extend_schema(request=ComputeSerializer, responses={200: PayRunSerializer, 201: PayRunSerializer,
                                                         409: CONFLICT},
                   summary="Compute the period's pay now",
                   description="Computes the pay from the period's results with the policies in force. 201 with the "
                               "new version when anything changed, 200 with the latest version when nothing did. "
                               "409 when the period has no results or no policy is in force, or when the "
                               "computation fails: the message names the person, the component and the inputs, "
                               "and nothing is written.")
    @action(detail=True, methods=["post"], url_path="pay-run", url_name="pay-run")
    def pay_run(self, request: Request, pk: str | None = None) -> Response:
        period = cast(Period, self.get_object())
        data = ComputeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        before = PayRun.objects.filter(period=period).order_by("-version").values_list("pk", flat=True).first()
        reason = data.validated_data["reason"] or _("computed through the API")
        try:
            run = services.compute_pay_run(period=period, acting_user=self.actor, reason=reason)
        except (services.PayRunFailed, IllegalTransition) as refused:
            return conflict(refused)
        if run is None:
            return conflict(ValueError(_("No pay policy is in force in %(period)s.") % {"period": period.code}))
        body = PayRunSerializer(selectors.pay_runs().get(pk=run.pk)).data
        return Response(body, status=status.HTTP_200_OK if run.pk == before else status.HTTP_201_CREATED)
