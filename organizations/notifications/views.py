"""Pages of the notifications: the inbox (every member), my channels (every member), HR's settings
(defaults, group robots, failed deliveries) and the record of a publication notice (HR).

The bell's unread count comes from :func:`unread`, a context processor (one query per page)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.apps import apps
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from core.web import once_per_request
from organizations import selectors as org_selectors
from organizations.access import get_visible_or_404
from organizations.context import TenantContext
from organizations.middleware import tenant_of
from organizations.notifications import actions, registry, selectors
from organizations.notifications.models import ROBOT_CHANNELS, Channel, Robot
from organizations.notifications.service import SENT_CHANNELS
from organizations.permissions import require
from organizations.views import tenant_page

PER_PAGE = 30


@once_per_request
def unread(request: HttpRequest) -> dict[str, Any]:
    """Context processor: the signed-in member's unread notifications, for the bell."""
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return {"unread_notifications": None}
    return {"unread_notifications": selectors.inbox(tenant).filter(read_at__isnull=True).count()}


@tenant_page("organization")
@require_safe
def inbox(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    rows = selectors.inbox(tenant)
    if request.GET.get("show") == "unread":
        rows = rows.filter(read_at__isnull=True)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "organizations/notifications/inbox.html",
                  {"page": page, "labels": {k.key: k.label for k in registry.events()},
                   "only_unread": request.GET.get("show") == "unread",
                   "is_hr": tenant.membership.is_hr_admin})


@tenant_page("organization")
@require_POST
def open_notification(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """Marks the notification read and goes to what it is about."""
    notification = get_visible_or_404(selectors.inbox(tenant), pk=pk)
    actions.mark_read(notifications=selectors.inbox(tenant).filter(pk=pk), acting_user=request.user)  # type: ignore[arg-type]
    if notification.link and url_has_allowed_host_and_scheme(notification.link, allowed_hosts=None):
        return redirect(notification.link)
    return redirect("notifications")


@tenant_page("organization")
@require_POST
def mark_read(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    get_visible_or_404(selectors.inbox(tenant), pk=pk)
    actions.mark_read(notifications=selectors.inbox(tenant).filter(pk=pk), acting_user=request.user)  # type: ignore[arg-type]
    return redirect("notifications")


@tenant_page("organization")
@require_POST
def mark_all_read(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    count = actions.mark_read(notifications=selectors.inbox(tenant), acting_user=request.user)  # type: ignore[arg-type]
    messages.success(request, _("%(count)s notification(s) marked read.") % {"count": count})
    return redirect("notifications")


# --- channel choices --------------------------------------------------------------------------------


def _grid(choices: dict[tuple[str, str], bool]) -> list[dict[str, Any]]:
    return [{"kind": kind, "cells": [{"name": f"c-{kind.key}-{channel}", "channel": Channel(channel).label,
                                      "checked": choices[(kind.key, channel)]} for channel in SENT_CHANNELS]}
            for kind in registry.events()]


def _posted(request: HttpRequest) -> dict[tuple[str, str], bool]:
    return {(kind.key, channel): f"c-{kind.key}-{channel}" in request.POST
            for kind in registry.events() for channel in SENT_CHANNELS}


@tenant_page("organization")
def my_channels(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """Every member: which events reach them on which channel (the inbox gets every one)."""
    if request.method == "POST":
        changed = actions.set_choices(organization=tenant.organization, membership=tenant.membership,
                                      acting_user=request.user, wanted=_posted(request))  # type: ignore[arg-type]
        messages.success(request, _("Saved: %(count)s change(s).") % {"count": changed})
        return redirect("notification-channels")
    grid = _grid(selectors.effective_choices(tenant.membership.pk))
    return render(request, "organizations/notifications/channels.html",
                  {"grid": grid, "channels": [Channel(c).label for c in SENT_CHANNELS], "defaults": False})


# --- HR: defaults, robots, failures ----------------------------------------------------------------


class RobotForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("kind"), choices=[(c.value, c.label) for c in ROBOT_CHANNELS])
    name = forms.CharField(label=gettext_lazy("name"), max_length=100)
    department: forms.ModelChoiceField = forms.ModelChoiceField(  # type: ignore[type-arg]
        label=gettext_lazy("department"), queryset=None, required=False,
        empty_label=gettext_lazy("Whole organization"))
    key = forms.CharField(label=gettext_lazy("webhook key"), max_length=200,
                          widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                          help_text=gettext_lazy("WeCom: the key=… of the webhook address; DingTalk: its access_token. "
                                                 "It is not shown again after saving."))
    secret = forms.CharField(label=gettext_lazy("signing secret"), max_length=200, required=False,
                             widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                             help_text=gettext_lazy("DingTalk only, when the robot signs (加签): SEC…"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = org_selectors.departments()  # type: ignore[attr-defined]

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if Robot.objects.filter(name=name).exists():
            raise forms.ValidationError(_("A robot named %(name)s exists already.") % {"name": name})
        return name


def _hr(request: HttpRequest) -> TenantContext:
    tenant = tenant_of(request)
    require(tenant, "organization", "change")
    assert tenant is not None
    return tenant


@tenant_page("organization")
def notification_settings(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """HR: the organisation's default channels per event, the group robots, failed deliveries."""
    _hr(request)
    form = RobotForm()
    if request.method == "POST" and request.POST.get("form") == "defaults":
        changed = actions.set_choices(organization=tenant.organization, membership=None, acting_user=request.user,  # type: ignore[arg-type]
                                      wanted=_posted(request))
        messages.success(request, _("Saved: %(count)s change(s).") % {"count": changed})
        return redirect("notification-settings")
    if request.method == "POST":
        form = RobotForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            actions.add_robot(organization=tenant.organization, acting_user=request.user, kind=data["kind"],  # type: ignore[arg-type]
                              name=data["name"], key=data["key"], secret=data["secret"],
                              department=data["department"])
            messages.success(request, _("Robot %(name)s saved.") % {"name": data["name"]})
            return redirect("notification-settings")
    return render(request, "organizations/notifications/settings.html", {
        "grid": _grid(selectors.effective_choices(None)), "channels": [Channel(c).label for c in SENT_CHANNELS],
        "robots": selectors.robots(), "form": form, "failed": selectors.failed_deliveries()[:50],
        "records": selectors.recorded_subjects(),
    })


@tenant_page("organization")
@require_POST
def remove_robot(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    _hr(request)
    robot = get_visible_or_404(selectors.robots(), pk=pk)
    actions.remove_robot(robot=robot, acting_user=request.user)  # type: ignore[arg-type]
    messages.success(request, _("Robot %(name)s removed.") % {"name": robot.name})
    return redirect("notification-settings")


@tenant_page("organization")
@require_POST
def retry_delivery(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    _hr(request)
    delivery = get_visible_or_404(selectors.failed_deliveries(), pk=pk)
    if actions.retry_delivery(delivery=delivery, acting_user=request.user):  # type: ignore[arg-type]
        messages.success(request, _("The delivery is being sent again."))
    return redirect("notification-settings")


@tenant_page("organization")
@require_safe
def notice_record(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """HR: who was told of a publication, when, on which channel — what "confirmed by silence" rests on."""
    _hr(request)
    if not registry.RECORD:
        raise PermissionDenied
    model = apps.get_model(registry.RECORD["model"])
    subject = get_visible_or_404(model._default_manager.all(), pk=pk)
    rows = selectors.notice_record(registry.RECORD["kind"], subject)
    return render(request, "organizations/notifications/record.html",
                  {"subject": subject, "rows": rows, "summary": selectors.record_summary(rows)})
