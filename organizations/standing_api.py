"""REST API of standing parameters (organizations.standing): list (filtered, or in force on a
date), one, set a value from a date (create), end one. The same services as the pages; another
organisation's ids are 404 (scoped querysets and ScopedRelatedField)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from organizations import standing_services
from organizations.api import ScopedRelatedField, TenantViewSet, id_filter
from organizations.models import Department, Person
from organizations.standing import NAME_LENGTH, StandingParameter


class StandingParameterSerializer(serializers.ModelSerializer):
    person = ScopedRelatedField(Person, allow_null=True, default=None)
    department = ScopedRelatedField(Department, allow_null=True, default=None)
    name = serializers.CharField(max_length=NAME_LENGTH)
    value = serializers.DecimalField(max_digits=18, decimal_places=4)
    pay_name = serializers.CharField(read_only=True, help_text=_("The name a pay formula reads it by."))

    class Meta:
        model = StandingParameter
        fields = ["id", "person", "department", "name", "pay_name", "value", "effective_from", "effective_to",
                  "created_at"]
        read_only_fields = ["id", "effective_to", "created_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None and (attrs.get("person") is None) == (attrs.get("department") is None):
            raise serializers.ValidationError({"person": [_("Give either a person or a department.")]})
        return attrs


class EndSerializer(serializers.Serializer):
    effective_to = serializers.DateField(help_text=_("The last day the value is in force."))


class StandingParameterFilter(filters.FilterSet):
    person = id_filter("person")
    department = id_filter("department")
    name = filters.CharFilter()
    on = filters.DateFilter(method="in_force", label=_("in force on"))

    def in_force(self, queryset: QuerySet[StandingParameter], _name: str, value: Any) -> QuerySet[StandingParameter]:
        return queryset.filter(Q(effective_to__isnull=True) | Q(effective_to__gte=value), effective_from__lte=value)

    class Meta:
        model = StandingParameter
        fields = ["person", "department", "name"]
        form = forms.Form


class StandingParameterViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                               mixins.UpdateModelMixin, TenantViewSet):
    """Standing, effective-dated parameters of people and departments (coefficients, factors,
    seniority) that pay formulas read: a person's by its name, a department's as dept_param_<name>.
    Creating sets the value from ``effective_from`` on: the value in force that day ends the day
    before. Changing a value corrects it in place (its person or department, name and first day stay:
    a value from another day is a new value); ``end`` ends it. HR changes them, HR and finance read them."""

    model = StandingParameter
    permission_resource = "standing_parameter"
    serializer_class = StandingParameterSerializer
    filterset_class = StandingParameterFilter

    def scoped_queryset(self) -> QuerySet[StandingParameter]:
        return StandingParameter.objects.order_by("name", "person_id", "department_id", "-effective_from")

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = standing_services.set_standing_parameter(
            organization=self.tenant.organization, acting_user=self.actor, **serializer.validated_data)

    def perform_update(self, serializer: Any) -> None:
        parameter: StandingParameter = serializer.instance
        values = serializer.validated_data
        fixed = {"person": parameter.person, "department": parameter.department, "name": parameter.name,
                 "effective_from": parameter.effective_from}
        moved = [field for field, value in fixed.items() if field in values and values[field] != value]
        if moved:
            raise serializers.ValidationError({field: [_("This does not change: set a new value instead.")]
                                               for field in moved})
        if "value" in values:
            serializer.instance = standing_services.set_standing_parameter(
                organization=self.tenant.organization, acting_user=self.actor, name=parameter.name,
                value=values["value"], effective_from=parameter.effective_from, person=parameter.person,
                department=parameter.department)

    @extend_schema(request=EndSerializer, responses={200: StandingParameterSerializer}, filters=False)
    @action(detail=True, methods=["post"], filterset_class=None)
    def end(self, request: Request, pk: str | None = None) -> Response:
        """Ends the value after ``effective_to`` (included)."""
        parameter = self.get_object()
        data = EndSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ended = standing_services.end_standing_parameter(
            parameter=parameter, acting_user=self.actor, effective_to=data.validated_data["effective_to"])
        return Response(StandingParameterSerializer(ended).data)
