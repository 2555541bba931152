"""REST API for the organisation, its departments, teams, people and memberships.

Thin views: an input serializer validates the shape, a service does the write (audited), an
output serializer renders. Querysets come from scoped managers or selectors, so an object of
another organisation is simply not found (404) and rows a role may not see are filtered out.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import ProtectedError, QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.api import ID_SCHEMA, MAX_ID
from organizations import selectors, services
from organizations.context import TenantContext
from organizations.models import (
    Department,
    DepartmentType,
    Membership,
    Organization,
    Person,
    Team,
    User,
)


class ScopedRelatedField(serializers.PrimaryKeyRelatedField):  # type: ignore[type-arg]
    """A primary-key field over a tenant model. DRF calls ``.all()`` on the manager at validation
    time, inside the request's scope, so another tenant's id is "does not exist"."""

    def __init__(self, model: type[Any], **kwargs: Any) -> None:
        super().__init__(queryset=model.objects, **kwargs)


def _tenant(request: Request) -> TenantContext:
    return request._request.tenant  # type: ignore[attr-defined,no-any-return]


_ID_MESSAGE = _("Enter an id: a whole number from 1 to 9223372036854775807.")


@extend_schema_field(ID_SCHEMA)
class IdFilter(filters.NumberFilter):
    """A filter on a primary or foreign key: a whole number from 1 to MAX_ID, else 400 naming the
    parameter (django-filter's backend turns the form error into {"person": ["…"]}). A plain
    NumberFilter took 1.5 and 1e30 and sent ids past bigint to the database, which answered 500."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        kwargs.setdefault("error_messages", {"invalid": _ID_MESSAGE, "min_value": _ID_MESSAGE,
                                             "max_value": _ID_MESSAGE})
        super().__init__(*args, **kwargs)

    def get_max_validator(self) -> None:
        return None  # max_value above is the bound; NumberFilter's own is 1e50


def id_filter(field: str) -> IdFilter:
    # Filters take plain ids: a ModelChoiceFilter would build its queryset when the FilterSet class
    # is created, outside any tenant scope. An id of another tenant simply matches nothing.
    return IdFilter(field_name=field)


class DepartmentFilter(filters.FilterSet):
    parent = id_filter("parent")
    department_type = id_filter("department_type")
    is_active = filters.BooleanFilter()


class TeamFilter(filters.FilterSet):
    department = id_filter("department")
    kind = filters.ChoiceFilter(choices=Team.Kind.choices)
    is_active = filters.BooleanFilter()


class PersonFilter(filters.FilterSet):
    department = id_filter("department")
    team = id_filter("team")
    status = filters.ChoiceFilter(choices=Person.Status.choices)
    employee_no = filters.CharFilter()


class TenantViewSet(viewsets.GenericViewSet):
    permission_resource = ""
    model: type[Any]

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no tenant
            return self.model.objects.none()
        return self.scoped_queryset()

    def scoped_queryset(self) -> QuerySet[Any]:
        raise NotImplementedError

    @property
    def tenant(self) -> TenantContext:
        return _tenant(self.request)

    @property
    def actor(self) -> User:
        # The permission class has already refused anonymous requests.
        return self.request.user  # type: ignore[return-value]


# --- organisation -------------------------------------------------------------------------------


class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "review_window_length", "review_window_unit", "created_at"]
        read_only_fields = ["id", "slug", "created_at"]


class OrganizationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, TenantViewSet
):
    """The organisation the request acts in. A token belongs to one organisation, so the list has
    one entry; any other organisation's id is 404."""

    model = Organization
    permission_resource = "organization"
    serializer_class = OrganizationSerializer

    def scoped_queryset(self) -> QuerySet[Organization]:
        return Organization.objects.filter(pk=self.tenant.organization.pk)

    def perform_update(self, serializer: Any) -> None:
        organization = services.update_organization(
            organization=serializer.instance, acting_user=self.actor, **serializer.validated_data
        )
        serializer.instance = organization


# --- departments and teams ----------------------------------------------------------------------


def _not_created_with(values: dict[str, Any], *names: str) -> dict[str, Any]:
    """The fields a create service does not take, popped from ``values``: set by an update right
    after the create, in the same transaction (a department created inactive, say)."""
    return {name: values.pop(name) for name in names if name in values}


class DepartmentSerializer(serializers.ModelSerializer):
    # "parent" is also Field.parent in DRF; the metaclass moves declared fields away, so it is safe.
    parent = ScopedRelatedField(Department, allow_null=True, required=False)  # type: ignore[assignment]
    department_type = ScopedRelatedField(DepartmentType, allow_null=True, required=False)

    class Meta:
        model = Department
        fields = ["id", "code", "name", "parent", "department_type", "is_active", "sort_order", "inspects_others"]
        read_only_fields = ["id"]


class DepartmentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    TenantViewSet,
):
    model = Department
    permission_resource = "department"
    serializer_class = DepartmentSerializer
    filterset_class = DepartmentFilter

    def scoped_queryset(self) -> QuerySet[Department]:
        return selectors.departments()

    def perform_create(self, serializer: Any) -> None:
        values = dict(serializer.validated_data)
        later = _not_created_with(values, "is_active", "inspects_others")
        with transaction.atomic():
            department = services.create_department(
                organization=self.tenant.organization, acting_user=self.actor, **values
            )
            if later:
                department = services.update_department(department=department, acting_user=self.actor, **later)
        serializer.instance = department

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.update_department(
            department=serializer.instance, acting_user=self.actor, **serializer.validated_data
        )

    def perform_destroy(self, instance: Department) -> None:
        services.delete_department(department=instance, acting_user=self.actor)


class TeamSerializer(serializers.ModelSerializer):
    department = ScopedRelatedField(Department)

    class Meta:
        model = Team
        fields = ["id", "code", "name", "kind", "department", "is_active"]
        read_only_fields = ["id"]


class TeamViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    TenantViewSet,
):
    model = Team
    permission_resource = "team"
    serializer_class = TeamSerializer
    filterset_class = TeamFilter

    def scoped_queryset(self) -> QuerySet[Team]:
        return selectors.teams()

    def perform_create(self, serializer: Any) -> None:
        values = dict(serializer.validated_data)
        later = _not_created_with(values, "is_active")
        with transaction.atomic():
            team = services.create_team(organization=self.tenant.organization, acting_user=self.actor, **values)
            if later:
                team = services.update_team(team=team, acting_user=self.actor, **later)
        serializer.instance = team

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.update_team(
            team=serializer.instance, acting_user=self.actor, **serializer.validated_data
        )


# --- people -------------------------------------------------------------------------------------


class PersonSerializer(serializers.ModelSerializer):
    department = ScopedRelatedField(Department)
    team = ScopedRelatedField(Team, allow_null=True, required=False)
    manager = ScopedRelatedField(Person, allow_null=True, required=False)
    reason = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=200, help_text=_("Why: kept in the audit trail.")
    )

    class Meta:
        model = Person
        fields = [
            "id",
            "employee_no",
            "name",
            "department",
            "team",
            "position",
            "level",
            "salary_band",
            "salary_grade",
            "standing",
            "standing_note",
            "base_pay",
            "hire_date",
            "leave_date",
            "manager",
            "status",
            "reason",
        ]
        # The standing changes only when HR confirms a rule's outcome (appraisal.services.outcomes).
        read_only_fields = ["id", "standing", "standing_note"]


class PersonViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    TenantViewSet,
):
    """People the caller may see: HR and finance everyone, a head their departments, an employee
    themself. People are never deleted (their results and pay stay); set status "left"."""

    model = Person
    permission_resource = "person"
    serializer_class = PersonSerializer
    filterset_class = PersonFilter

    def scoped_queryset(self) -> QuerySet[Person]:
        return selectors.visible_people(self.tenant)

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.create_person(
            organization=self.tenant.organization, acting_user=self.actor, **serializer.validated_data
        )

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.update_person(
            person=serializer.instance, acting_user=self.actor, **serializer.validated_data
        )


# --- memberships --------------------------------------------------------------------------------


class MembershipOutputSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    display_name = serializers.CharField(source="user.display_name", read_only=True)
    headed_departments = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = ["id", "username", "display_name", "person", "is_hr_admin", "is_finance", "is_active",
                  "headed_departments", "created_at"]

    def get_headed_departments(self, membership: Membership) -> list[int]:
        return [h.department_id for h in membership.headships.all()]


class MembershipCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    display_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    password = serializers.CharField(
        write_only=True, required=False, help_text=_("Initial password, required when the user is new.")
    )
    person = ScopedRelatedField(Person, allow_null=True, required=False)
    is_hr_admin = serializers.BooleanField(default=False)
    is_finance = serializers.BooleanField(default=False)
    headed_departments = ScopedRelatedField(Department, many=True, required=False)


class MembershipUpdateSerializer(serializers.Serializer):
    person = ScopedRelatedField(Person, allow_null=True, required=False)
    is_hr_admin = serializers.BooleanField(required=False)
    is_finance = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)
    headed_departments = ScopedRelatedField(Department, many=True, required=False)


class MembershipViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    TenantViewSet,
):
    """Who may sign in to this organisation, and with which roles. HR only."""

    model = Membership
    permission_resource = "membership"
    serializer_class = MembershipOutputSerializer

    def scoped_queryset(self) -> QuerySet[Membership]:
        return selectors.memberships()

    @extend_schema(request=MembershipCreateSerializer, responses={201: MembershipOutputSerializer})
    def create(self, request: Request) -> Response:
        data = MembershipCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        with transaction.atomic():
            user = _user_for(values.pop("username"), values.pop("password", None), values.pop("display_name", ""))
            membership = services.create_membership(
                organization=self.tenant.organization,
                acting_user=self.actor,
                user=user,
                headed_departments=values.pop("headed_departments", []),
                **values,
            )
        return Response(MembershipOutputSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MembershipUpdateSerializer, responses={200: MembershipOutputSerializer})
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        membership = self.get_object()
        data = MembershipUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        heads = values.pop("headed_departments", None)
        with transaction.atomic():
            services.update_membership(membership=membership, acting_user=self.actor, **values)
            if heads is not None:
                services.set_headed_departments(membership=membership, departments=heads, acting_user=self.actor)
        return Response(MembershipOutputSerializer(self.get_queryset().get(pk=membership.pk)).data)


def _user_for(username: str, password: str | None, display_name: str) -> User:
    """An existing sign-in is reused (a person may work for two organisations); a new one needs a password."""
    user = User.objects.filter(username=username).first()
    if user is not None:
        return user
    if not password:
        raise exceptions.ValidationError({"password": [_("A new user needs an initial password.")]})
    try:
        validate_password(password)
    except DjangoValidationError as error:
        raise exceptions.ValidationError({"password": list(error.messages)}) from None
    return User.objects.create_user(username=username, password=password, display_name=display_name)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Model validation and protected deletes from services become 400 / 409 with their messages."""
    if isinstance(exc, DjangoValidationError):
        # Messages not tied to a field are DRF's non_field_errors, so a 400 has one shape (the schema's).
        detail: Any = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, ProtectedError):
        return Response(
            {"detail": _("This record is still in use and cannot be deleted; deactivate it instead.")},
            status=status.HTTP_409_CONFLICT,
        )
    return drf_exception_handler(exc, context)
