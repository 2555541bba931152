"""Tenants, their departments, teams, people, memberships and roles, and the working calendar."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from organizations.roles import Role
from organizations.tenancy import TenantHistory, TenantOwned


class User(AbstractUser):
    """A sign-in identity. What a user may do depends on their membership in an organisation."""

    display_name = models.CharField(_("display name"), max_length=100, blank=True)

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username


class Organization(models.Model):
    """The tenant. Not tenant-owned itself: it is the scope."""

    class WindowUnit(models.TextChoices):
        CALENDAR_DAYS = "calendar", _("calendar days")
        WORKING_DAYS = "working", _("working days")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("short code"), max_length=50, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    review_window_length = models.PositiveSmallIntegerField(_("review window length"), default=3)
    review_window_unit = models.CharField(
        _("review window unit"), max_length=10, choices=WindowUnit.choices, default=WindowUnit.CALENDAR_DAYS
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DepartmentType(TenantOwned):
    """A kind of department (production, logistics, clinical, outlet, back office …).

    Templates and pay policies are chosen by type, so types are data an organisation defines.
    """

    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    history = TenantHistory()

    class Meta:
        verbose_name = _("department type")
        verbose_name_plural = _("department types")
        ordering = ["sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="uniq_department_type_code"),
        ]

    def __str__(self) -> str:
        return self.name


class Department(TenantOwned):
    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    department_type = models.ForeignKey(
        DepartmentType,
        verbose_name=_("department type"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="departments",
    )
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)
    # A functional-check department (S0-2 职能检查: safety, quality, …) whose members record
    # deductions and bonuses on other departments' sheets during the period.
    inspects_others = models.BooleanField(_("inspects other departments"), default=False)

    history = TenantHistory()

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="uniq_department_code"),
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="department_not_own_parent"),
        ]
        indexes = [models.Index(fields=["organization", "parent"], name="department_org_parent")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # A department's parent must be in the same organisation and must not be one of its own
        # descendants; the walk is bounded by the tree's depth, not its size.
        if self.parent_id is None:
            return
        if self.parent is not None and self.parent.organization_id != self.organization_id:
            raise ValidationError({"parent": _("The parent department belongs to another organization.")})
        seen: set[int] = set()
        node: Department | None = self.parent
        while node is not None:
            if self.pk is not None and node.pk == self.pk:
                raise ValidationError(
                    {"parent": _("A department cannot be placed under itself or its own sub-department.")}
                )
            if node.pk in seen:  # pragma: no cover - a cycle already in the data
                break
            seen.add(node.pk)
            node = node.parent


class Team(TenantOwned):
    """A unit below a department that is scored and paid as a unit: a team, or a shift (运行值)."""

    class Kind(models.TextChoices):
        TEAM = "team", _("team")
        SHIFT = "shift", _("shift")

    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="teams"
    )
    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.TEAM)
    is_active = models.BooleanField(_("active"), default=True)

    history = TenantHistory()

    class Meta:
        verbose_name = _("team or shift")
        verbose_name_plural = _("teams and shifts")
        ordering = ["department__sort_order", "code"]
        constraints = [models.UniqueConstraint(fields=["organization", "code"], name="uniq_team_code")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.department_id and self.department.organization_id != self.organization_id:
            raise ValidationError({"department": _("The department belongs to another organization.")})


class Person(TenantOwned):
    """Someone who is appraised and paid. May or may not have a sign-in (membership)."""

    class Status(models.TextChoices):
        ACTIVE = "active", pgettext_lazy("person status", "active")
        ON_LEAVE = "on_leave", _("on long leave")
        LEFT = "left", _("left")

    class Standing(models.TextChoices):
        GOOD = "good", _("in good standing")
        UNFIT = "unfit", _("unfit for the post")
        ELIMINATED = "eliminated", _("eliminated")

    employee_no = models.CharField(_("employee number"), max_length=30)
    name = models.CharField(_("name"), max_length=50)
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="people"
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team or shift"), null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    position = models.CharField(_("position"), max_length=100, blank=True)
    level = models.CharField(_("level"), max_length=50, blank=True)
    salary_band = models.CharField(_("salary band"), max_length=50, blank=True)
    base_pay = models.DecimalField(_("base pay"), max_digits=12, decimal_places=2, null=True, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=40, blank=True)
    hire_date = models.DateField(_("hire date"), null=True, blank=True)
    leave_date = models.DateField(_("leave date"), null=True, blank=True)
    manager = models.ForeignKey(
        "self", verbose_name=_("manager"), null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    # Changed by the appraisal's person outcomes once HR confirms them (appraisal.services.outcomes):
    # salary grade up or down (S1-9), unfit for the post (S1-4), eliminated (S1-7); the note says why.
    salary_grade = models.PositiveSmallIntegerField(_("salary grade"), null=True, blank=True)
    # Database defaults too: rows written by COPY (core.bulk) without these columns stay valid.
    standing = models.CharField(_("appraisal standing"), max_length=12, choices=Standing.choices,
                                default=Standing.GOOD, db_default=Standing.GOOD)
    standing_note = models.CharField(_("appraisal standing note"), max_length=200, blank=True, default="",
                                     db_default="")

    history = TenantHistory()

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["employee_no"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "employee_no"], name="uniq_person_employee_no"),
            models.CheckConstraint(
                condition=Q(leave_date__isnull=True)
                | Q(hire_date__isnull=True)
                | Q(leave_date__gte=models.F("hire_date")),
                name="person_leave_after_hire",
            ),
            models.CheckConstraint(
                condition=Q(base_pay__isnull=True) | Q(base_pay__gte=Decimal("0.00")),
                name="person_base_pay_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["organization", "department"], name="person_org_department")]

    def __str__(self) -> str:
        return self.label(self.employee_no, self.name)

    @staticmethod
    def label(employee_no: str, name: str) -> str:
        """How a person is named in messages and explanations (also from values a query read)."""
        return f"{employee_no} {name}"

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.hire_date and self.leave_date and self.leave_date < self.hire_date:
            errors["leave_date"] = _("The leave date is before the hire date.")
        if self.manager_id is not None and self.pk is not None and self.manager_id == self.pk:
            errors["manager"] = _("A person cannot be their own manager.")
        if (
            self.team is not None
            and self.department_id is not None
            and self.team.department_id != self.department_id
        ):
            errors["team"] = _("The team belongs to another department.")
        if errors:
            raise ValidationError(errors)

    def is_employed_on(self, day: date) -> bool:
        if self.hire_date and day < self.hire_date:
            return False
        return not (self.leave_date and day > self.leave_date)


class Membership(TenantOwned):
    """A user's place in an organisation: their person record (if any) and their roles.

    HR admin and finance are flags; department headship and group membership are rows of their
    own because they name a department or group. Everyone with a person record is an employee.
    """

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="memberships")
    person = models.ForeignKey(
        Person, verbose_name=_("person"), null=True, blank=True, on_delete=models.SET_NULL, related_name="memberships"
    )
    is_hr_admin = models.BooleanField(_("HR admin"), default=False)
    is_finance = models.BooleanField(_("finance"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = TenantHistory()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["user__username"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="uniq_membership_user"),
            models.UniqueConstraint(
                fields=["organization", "person"], condition=Q(person__isnull=False), name="uniq_membership_person"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization_id}"

    def clean(self) -> None:
        if self.person is not None and self.person.organization_id != self.organization_id:
            raise ValidationError({"person": _("The person belongs to another organization.")})


class DepartmentHead(TenantOwned):
    membership = models.ForeignKey(
        Membership, verbose_name=_("membership"), on_delete=models.CASCADE, related_name="headships"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.CASCADE, related_name="headships"
    )

    history = TenantHistory()

    class Meta:
        verbose_name = _("department head")
        verbose_name_plural = _("department heads")
        constraints = [
            models.UniqueConstraint(fields=["organization", "membership", "department"], name="uniq_department_head"),
        ]

    def __str__(self) -> str:
        return f"{self.membership} → {self.department}"


class ReviewGroup(TenantOwned):
    """A group that reviews or supervises: leadership group, working group, supervision group (S0-3, S1-3)."""

    class Kind(models.TextChoices):
        REVIEW = "review", _("review group")
        SUPERVISION = "supervision", _("supervision group")
        LEADERSHIP = "leadership", _("leadership group")
        WORKING = "working", _("working group")

    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.REVIEW)

    history = TenantHistory()

    class Meta:
        verbose_name = _("review group")
        verbose_name_plural = _("review groups")
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["organization", "code"], name="uniq_review_group_code")]

    def __str__(self) -> str:
        return self.name


class ReviewGroupMember(TenantOwned):
    group = models.ForeignKey(ReviewGroup, verbose_name=_("group"), on_delete=models.CASCADE, related_name="members")
    membership = models.ForeignKey(
        Membership, verbose_name=_("membership"), on_delete=models.CASCADE, related_name="group_seats"
    )
    is_chair = models.BooleanField(_("chair"), default=False)

    history = TenantHistory()

    class Meta:
        verbose_name = _("group member")
        verbose_name_plural = _("group members")
        constraints = [
            models.UniqueConstraint(fields=["organization", "group", "membership"], name="uniq_review_group_member"),
        ]

    def __str__(self) -> str:
        return f"{self.membership} ∈ {self.group}"


def roles_of(membership: Membership, *, heads: bool, groups: bool) -> frozenset[Role]:
    roles: set[Role] = set()
    if membership.is_hr_admin:
        roles.add(Role.HR_ADMIN)
    if membership.is_finance:
        roles.add(Role.FINANCE)
    if membership.person_id is not None:
        roles.add(Role.EMPLOYEE)
    if heads:
        roles.add(Role.DEPARTMENT_HEAD)
    if groups:
        roles.add(Role.GROUP_MEMBER)
    return frozenset(roles)


class ApiToken(TenantOwned):
    """An API key bound to one membership, hence to one organisation. Only its digest is stored."""

    PREFIX = "pa_"

    membership = models.ForeignKey(
        Membership, verbose_name=_("membership"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    digest = models.CharField(max_length=64, db_index=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    # Who issued and who revoked a token, and when. The digest stays out of the trail: it is the
    # token's only secret-derived value and the trail is read by people, not by the authentication.
    history = TenantHistory(excluded_fields=["digest"])

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints = [models.UniqueConstraint(fields=["organization", "digest"], name="uniq_api_token_digest")]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def new_key(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)


class CalendarDay(TenantOwned):
    """A day that differs from the Monday–Friday rule: a public holiday, or a make-up working day (调休).

    Seeded per year from chinesecalendar and then owned by HR, who may edit it (local holidays,
    a plant that works through a festival). Working-day arithmetic reads only this table.
    """

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("holiday")
        WORKDAY = "workday", _("make-up working day")

    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=50, blank=True)

    history = TenantHistory()

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["organization", "date"], name="uniq_calendar_day")]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"


class CalendarYear(TenantOwned):
    """Marks a year whose holidays are known. Working-day arithmetic refuses a year without one."""

    year = models.PositiveSmallIntegerField(_("year"))
    source = models.CharField(_("source"), max_length=50)
    seeded_at = models.DateTimeField(_("seeded at"), auto_now=True)

    class Meta:
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        ordering = ["year"]
        constraints = [models.UniqueConstraint(fields=["organization", "year"], name="uniq_calendar_year")]

    def __str__(self) -> str:
        return str(self.year)


class Job(TenantOwned):
    """A background job a page watches: a period close, a pay computation, a large export. The task
    updates ``done`` in its own short transactions, so the progress bar moves while the work runs;
    the work itself commits once, at the end, which is what keeps a killed or redelivered task to
    one result.

    A job names what it works on as a typed reference (``subject``: the period, the pay run), never
    as a string to parse, and carries the options its task needs in ``params`` (an export's kind
    and format). ``organizations`` stores the reference without knowing the apps above it.

    While it works, a job beats: ``heartbeat_at`` moves at least every JOB_HEARTBEAT_SECONDS
    (organizations.jobs.running). An unfinished job without a sign of life for JOB_DEAD_AFTER_SECONDS
    is dead (its worker was killed): the pages say so and offer to restart it, and starting the same
    job again makes a new one (organizations.jobs.start_job).
    """

    class Kind(models.TextChoices):
        CLOSE_PERIOD = "close_period", _("period close")
        PAY_RUN = "pay_run", _("pay computation")
        PAY_EXPORT = "pay_export", _("pay export")

    class State(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    subject_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("subject type"))
    subject_id = models.PositiveBigIntegerField(_("subject"))
    subject = GenericForeignKey("subject_type", "subject_id")
    # What else the task needs to know, e.g. {"export": "paysheet", "format": "xlsx"}; part of the
    # job's identity: the same export asked twice is one job, two different exports are two.
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(_("total"), default=0)
    done = models.PositiveIntegerField(_("done"), default=0)
    message = models.TextField(_("message"), blank=True)
    file = models.FileField(_("file"), upload_to="jobs/%Y/%m/", blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)

    class Meta:
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # At most one unfinished job of a kind per subject: a double click starts one close.
            models.UniqueConstraint(fields=["organization", "kind", "subject_type", "subject_id", "params"],
                                    condition=Q(state__in=["queued", "running"]), name="uniq_active_job"),
        ]
        indexes = [models.Index(fields=["organization", "subject_type", "subject_id", "kind"],
                                name="job_subject")]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_type_id}:{self.subject_id} {self.state}"

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        return int(self.done * 100 / self.total) if self.total else 0

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)

    @property
    def last_sign_of_life(self) -> datetime:
        """When the job last showed it was alive: its last heartbeat, else its start, else its creation."""
        return self.heartbeat_at or self.started_at or self.created_at

    @property
    def dead(self) -> bool:
        """Unfinished, and silent for longer than JOB_DEAD_AFTER_SECONDS: whatever ran it has stopped."""
        if self.finished or self.created_at is None:
            return False
        silent = timezone.now() - self.last_sign_of_life
        return silent > timedelta(seconds=settings.JOB_DEAD_AFTER_SECONDS)
from organizations.chunks import JobChunk  # noqa: E402,F401  (the model lives in its own module)
from organizations.notifications import models as notification_models  # noqa: E402,F401  (registers them)
from organizations.standing import StandingParameter  # noqa: E402,F401  (the model lives in its own module)
