"""REST API of the set-up data (issue #17): department types, review and supervision groups with
their members, and the working calendar (its days, its known years, and filling a year from
chinesecalendar). The same services as the pages; the house style of organizations.api: thin
views, scoped querysets (another organisation's id is 404), the matrix's resources.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from organizations import selectors, services, setup_services
from organizations.api import ScopedRelatedField, TenantViewSet
from organizations.models import CalendarDay, CalendarYear, DepartmentType, Membership, ReviewGroup
from organizations.setup_forms import FIRST_YEAR, LAST_YEAR

# --- department types ---------------------------------------------------------------------------


class DepartmentTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = DepartmentType
        fields = ["id", "code", "name", "sort_order"]
        read_only_fields = ["id"]


class DepartmentTypeViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
    mixins.DestroyModelMixin, TenantViewSet,
):
    """The kinds of department the organisation defines; templates and pay policies are chosen by
    type. A type still named by a department, template or pay policy cannot be deleted (409)."""

    model = DepartmentType
    permission_resource = "department"
    serializer_class = DepartmentTypeSerializer

    def scoped_queryset(self) -> QuerySet[DepartmentType]:
        return DepartmentType.objects.all()

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = setup_services.create_department_type(
            organization=self.tenant.organization, acting_user=self.actor, **serializer.validated_data)

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = setup_services.update_department_type(
            department_type=serializer.instance, acting_user=self.actor, **serializer.validated_data)

    def perform_destroy(self, instance: DepartmentType) -> None:
        setup_services.delete_department_type(department_type=instance, acting_user=self.actor)


# --- review groups ------------------------------------------------------------------------------


class GroupSeatSerializer(serializers.Serializer):
    membership = ScopedRelatedField(Membership)
    is_chair = serializers.BooleanField(default=False)


class ReviewGroupSerializer(serializers.ModelSerializer):
    members = GroupSeatSerializer(many=True, required=False,
                                  help_text=_("The whole list of members: those left out are removed."))

    class Meta:
        model = ReviewGroup
        fields = ["id", "code", "name", "kind", "members"]
        read_only_fields = ["id"]

    def validate_members(self, seats: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [seat["membership"].pk for seat in seats]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError(_("A member is listed twice."))
        return seats


def _seats(values: dict[str, Any]) -> dict[Membership, bool] | None:
    seats = values.pop("members", None)
    return None if seats is None else {seat["membership"]: seat.get("is_chair", False) for seat in seats}


class ReviewGroupViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
    TenantViewSet,
):
    """Review, supervision, leadership and working groups with their members (memberships; a
    chair flag each). HR sees and changes all; a group member sees their own groups."""

    model = ReviewGroup
    permission_resource = "review_group"
    serializer_class = ReviewGroupSerializer

    def scoped_queryset(self) -> QuerySet[ReviewGroup]:
        return selectors.visible_review_groups(self.tenant).prefetch_related("members")

    def perform_create(self, serializer: Any) -> None:
        values = dict(serializer.validated_data)
        members = _seats(values)
        serializer.instance = setup_services.create_review_group(
            organization=self.tenant.organization, acting_user=self.actor, members=members, **values)

    def perform_update(self, serializer: Any) -> None:
        values = dict(serializer.validated_data)
        members = _seats(values)
        group = serializer.instance
        with transaction.atomic():
            setup_services.update_review_group(group=group, acting_user=self.actor, **values)
            if members is not None:
                setup_services.set_group_members(group=group, members=members, acting_user=self.actor)
        serializer.instance = self.get_queryset().get(pk=group.pk)


# --- the working calendar -----------------------------------------------------------------------


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": 9999})
class YearFilter(filters.NumberFilter):
    """A calendar year, 1 to 9999 (what a date holds), else 400 naming the parameter."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 9999)
        super().__init__(*args, **kwargs)

    def get_max_validator(self) -> None:
        return None  # max_value above is the bound


class CalendarDayFilter(filters.FilterSet):
    year = YearFilter(field_name="date", lookup_expr="year")
    kind = filters.ChoiceFilter(choices=CalendarDay.Kind.choices)


class CalendarDaySerializer(serializers.ModelSerializer):
    class Meta:
        model = CalendarDay
        fields = ["id", "date", "kind", "name"]
        read_only_fields = ["id"]

    def validate_date(self, value: Any) -> Any:
        if self.instance is not None and value != self.instance.date:
            raise serializers.ValidationError(
                _("The date of an entered day does not change: delete it and enter the other date."))
        return value


class CalendarYearSerializer(serializers.ModelSerializer):
    class Meta:
        model = CalendarYear
        fields = ["id", "year", "source", "seeded_at"]


class CalendarFillSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=FIRST_YEAR, max_value=LAST_YEAR)


class CalendarFillResultSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    added = serializers.IntegerField(help_text=_("Days added from the official calendar."))
    kept = serializers.IntegerField(help_text=_("Days already entered, left as they were."))


class CalendarDayViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
    mixins.DestroyModelMixin, TenantViewSet,
):
    """Days that differ from the Monday–Friday rule: public holidays and make-up working days.
    Entering a date that is already entered changes that day; deleting a day returns it to the rule."""

    model = CalendarDay
    permission_resource = "calendar"
    serializer_class = CalendarDaySerializer
    filterset_class = CalendarDayFilter

    def scoped_queryset(self) -> QuerySet[CalendarDay]:
        return CalendarDay.objects.order_by("date")

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = setup_services.set_calendar_day(
            organization=self.tenant.organization, acting_user=self.actor, **serializer.validated_data)

    def perform_update(self, serializer: Any) -> None:
        values = dict(serializer.validated_data)
        values.pop("date", None)
        serializer.instance = setup_services.update_calendar_day(day=serializer.instance, acting_user=self.actor,
                                                                 **values)

    def perform_destroy(self, instance: CalendarDay) -> None:
        setup_services.remove_calendar_day(day=instance, acting_user=self.actor)

    @extend_schema(responses={200: CalendarYearSerializer(many=True)}, filters=False)
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def years(self, request: Request) -> Response:
        """The years whose holidays are known; working-day deadlines refuse a year not listed here."""
        return Response(CalendarYearSerializer(CalendarYear.objects.order_by("year"), many=True).data)

    @extend_schema(request=CalendarFillSerializer, responses={200: CalendarFillResultSerializer}, filters=False)
    @action(detail=False, methods=["post"], filterset_class=None)
    def fill(self, request: Request) -> Response:
        """Fills a year's public holidays and make-up working days from the official calendar
        (chinesecalendar). Days already entered are kept; filling again adds nothing; a year the
        official calendar does not know is refused (400) and nothing is written."""
        data = CalendarFillSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        year = data.validated_data["year"]
        try:
            result = services.seed_calendar_year(organization=self.tenant.organization, year=year,
                                                 acting_user=self.actor)
        except DjangoValidationError as error:
            raise exceptions.ValidationError({"year": error.messages}) from None
        return Response(CalendarFillResultSerializer({"year": year, **result}).data)
