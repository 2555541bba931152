"""Browser pages of the foundation: my work, people, one person, members and roles.

Views stay thin: they check the permission matrix, ask the selectors for rows, and hand plain
data to templates. The tenant scope is already entered by OrganizationScopeMiddleware; a signed-in
user with no organisation has no scope, so those requests must not reach a tenant query at all.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Model, Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe
from django_tables2 import RequestConfig

from core.replica import replica_reads
from organizations import dashboard, selectors
from organizations.access import get_visible_or_404
from organizations.context import TenantContext, memberships_of
from organizations.filters import PersonFilter
from organizations.middleware import SESSION_KEY, tenant_of
from organizations.models import Person, ReviewGroupMember
from organizations.permissions import can
from organizations.roles import Role
from organizations.tables import PersonTable

P = ParamSpec("P")
TenantView = Callable[Concatenate[HttpRequest, TenantContext, P], HttpResponse]
PageView = Callable[Concatenate[HttpRequest, P], HttpResponse]

PEOPLE_PER_PAGE = 25
MEMBERSHIPS_PER_PAGE = 50
# Fields never worth showing in the audit trail: the tenant never changes and is not the user's business.
AUDIT_EXCLUDED_FIELDS = ["organization"]
# The services record these machine reasons when the caller gave none; show them in the reader's language.
DEFAULT_REASONS = {
    "created": gettext_lazy("created"),
    "updated": gettext_lazy("updated"),
    "appointed head": gettext_lazy("appointed head"),
    "removed as head": gettext_lazy("removed as head"),
    "excel import": gettext_lazy("Excel import"),  # organizations.importing.writing.CHANGE_REASON
}


def tenant_page(resource: str) -> Callable[[TenantView[P]], PageView[P]]:
    """Signed in, in an organisation, and allowed to view ``resource`` by the matrix; the view gets the tenant."""

    def decorator(view: TenantView[P]) -> PageView[P]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            tenant = tenant_of(request)
            if tenant is None:
                # Signed in but in no organisation: there is no scope to read in; home explains why.
                return redirect("home")
            if not can(tenant, resource, "view"):
                raise PermissionDenied
            return view(request, tenant, *args, **kwargs)

        return login_required(wrapped)

    return decorator


# --- organisation switcher -------------------------------------------------------------------


@login_required
@require_POST
def switch_organization(request: HttpRequest) -> HttpResponse:
    """Remember the chosen organisation in the session; the middleware scopes the next request to it."""
    try:
        organization_id = int(request.POST.get("organization_id", ""))
    except ValueError:
        raise Http404 from None
    # Only the user's own active memberships count; any other id looks exactly like one that does not exist.
    user_id = cast(int, request.user.pk)  # login_required: the user is signed in, so has a pk
    membership = next((m for m in memberships_of(user_id) if m.organization_id == organization_id), None)
    if membership is None:
        raise Http404
    request.session[SESSION_KEY] = organization_id
    messages.success(request, _("You are now working in %(name)s.") % {"name": membership.organization.name})
    return redirect("home")


# --- my work -----------------------------------------------------------------------------------


@login_required
@require_safe
@replica_reads()
def home(request: HttpRequest) -> HttpResponse:
    """Each role the user holds gets the cards registered for it (organizations.dashboard): where its
    work is, read live. A fixed number of queries per card whatever the organisation's size."""
    tenant = tenant_of(request)
    if tenant is None:
        # Signed in, but no organisation has added them: a page of its own, and no tenant query.
        return render(request, "organizations/no_organization.html")
    # A membership without a role yet (no person record, no flag) has no card: nothing to do, which is not an error.
    cards = dashboard.shown_cards(tenant) if can(tenant, "organization", "view") else []
    roles = [str(role.label) for role in Role if role in tenant.roles]
    return render(request, "organizations/home.html", {"cards": cards, "roles": roles})


# --- people ------------------------------------------------------------------------------------


@tenant_page("person")
@require_safe
def people(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """Everyone the user may see (the selector decides the rows), filtered, sorted and paged."""
    visible = selectors.visible_people(tenant)
    person_filter = PersonFilter(request.GET or None, queryset=visible, request=request)
    # An invalid filter (a department of another organisation, say) shows nothing rather than everything.
    rows = person_filter.qs if not person_filter.is_bound or person_filter.is_valid() else visible.none()
    table = PersonTable(rows)
    RequestConfig(request, paginate={"per_page": PEOPLE_PER_PAGE}).configure(table)
    context = {"filter": person_filter, "table": table}
    # htmx refreshes only the table as the filter changes; a normal request gets the whole page.
    template = "organizations/_people_table.html" if getattr(request, "htmx", False) else "organizations/people.html"
    return render(request, template, context)


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class AuditEntry:
    when: Any
    who: str
    kind: str
    reason: str
    changes: list[FieldChange]


def _names(queryset: QuerySet[Any], ids: Iterable[Any]) -> dict[Any, str]:
    wanted = {i for i in ids if i is not None}
    return {obj.pk: str(obj) for obj in queryset.filter(pk__in=wanted)} if wanted else {}


def _display(model: type[Model], name: str, value: Any, related: dict[str, dict[Any, str]]) -> str:
    if value is None or value == "":
        return "—"
    model_field = model._meta.get_field(name)
    if name in related:
        # A row deleted since keeps its id in the history; show the id rather than nothing.
        return related[name].get(value, f"#{value}")
    choices = getattr(model_field, "flatchoices", None)
    if choices:
        return str(dict(choices).get(value, value))
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(formats.localize(value))


def _audit_trail(tenant: TenantContext, person: Person) -> list[AuditEntry]:
    """The person's history, newest first, each change as field: old → new. A fixed number of queries."""
    records = list(person.history.select_related("history_user").order_by("-history_date", "-history_id"))
    deltas = [
        record.diff_against(records[i + 1], excluded_fields=AUDIT_EXCLUDED_FIELDS)
        if record.history_type == "~" and i + 1 < len(records) else None
        for i, record in enumerate(records)
    ]
    changed = [change for delta in deltas if delta is not None for change in delta.changes]

    def ids(name: str) -> list[Any]:
        return [value for c in changed if c.field == name for value in (c.old, c.new)]

    # Foreign keys are stored as ids; name them with one query per related model, not one per change.
    related = {
        "department": _names(selectors.departments(), ids("department")),
        "team": _names(selectors.teams(), ids("team")),
        "manager": _names(selectors.visible_people(tenant), ids("manager")),
    }
    kinds = {"+": _("Created"), "~": _("Changed"), "-": _("Deleted")}
    entries = []
    for record, delta in zip(records, deltas, strict=True):
        changes = [
            FieldChange(
                label=str(getattr(Person._meta.get_field(c.field), "verbose_name", c.field)),
                old=_display(Person, c.field, c.old, related),
                new=_display(Person, c.field, c.new, related),
            )
            for c in (delta.changes if delta is not None else [])
        ]
        user = record.history_user
        reason = record.history_change_reason or ""
        entries.append(AuditEntry(
            when=record.history_date,
            who=str(user) if user is not None else _("System"),
            kind=kinds.get(record.history_type, record.history_type),
            reason=str(DEFAULT_REASONS.get(reason, reason)),
            changes=changes,
        ))
    return entries


@tenant_page("person")
@require_safe
def person_detail(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    # 404 both for another organisation's person and for a colleague the user may not see.
    person = get_visible_or_404(selectors.visible_people(tenant), pk=pk)
    # The trail shows every past value, pay included; only those who may change people (HR) read it.
    trail = _audit_trail(tenant, person) if can(tenant, "person", "change") else None
    # Pay is confidential: HR and finance need it, and a person may see their own; a head may not.
    show_pay = tenant.has(Role.HR_ADMIN, Role.FINANCE) or person.pk == tenant.person_id
    return render(request, "organizations/person_detail.html", {"person": person, "trail": trail, "show_pay": show_pay})


# --- members and roles -------------------------------------------------------------------------


@tenant_page("membership")
@require_safe
def memberships(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """Who may sign in, as whom, with which roles. HR only (the matrix's "membership" resource)."""
    rows = (
        selectors.memberships()
        .prefetch_related(Prefetch("group_seats", queryset=ReviewGroupMember.objects.select_related("group")))
        .order_by("-is_active", "user__username")
    )
    page = Paginator(rows, MEMBERSHIPS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "organizations/memberships.html", {"page": page})
