"""Notifications: one row per event and recipient, its deliveries by channel, the group robots an
organisation posts to, and who wants which event on which channel.

Registered in the organizations app (imported from organizations.models); the models name the
foundation's models by string, so this module imports nothing of organizations.models and no cycle
forms. An event's subject is a typed reference (``Notification.subject``: the period, the appeal,
the pay run, the job), as ``Job.subject`` is, so the floors above use it without this floor
knowing them.
"""

from __future__ import annotations

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from organizations.tenancy import TenantHistory, TenantOwned


class Channel(models.TextChoices):
    INBOX = "inbox", _("in-app inbox")
    EMAIL = "email", _("email")
    WECOM = "wecom", _("WeCom robot")
    DINGTALK = "dingtalk", _("DingTalk robot")


ROBOT_CHANNELS = (Channel.WECOM, Channel.DINGTALK)


class Notification(TenantOwned):
    """One event told to one member. ``kind`` names a registered event kind
    (organizations.notifications.registry); kind, subject, recipient and ``occasion`` (which
    deadline, which state) are the event's identity: raising it again writes nothing."""

    recipient = models.ForeignKey("organizations.Membership", verbose_name=_("recipient"), on_delete=models.CASCADE,
                                  related_name="notifications")
    kind = models.CharField(_("event"), max_length=40)
    subject_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("subject type"))
    subject_id = models.PositiveBigIntegerField(_("subject"))
    subject = GenericForeignKey("subject_type", "subject_id")
    occasion = models.CharField(_("occasion"), max_length=60, blank=True, default="")
    # Rendered in zh-Hans when the event happens: what the member was told, as they were told it.
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        app_label = "organizations"
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind", "subject_type", "subject_id", "recipient",
                                            "occasion"], name="uniq_notification_event"),
        ]
        indexes = [models.Index(fields=["organization", "recipient", "read_at"], name="notification_inbox"),
                   models.Index(fields=["organization", "kind", "subject_type", "subject_id"],
                                name="notification_subject")]

    def __str__(self) -> str:
        return self.title


class Robot(TenantOwned):
    """A WeCom (企业微信) or DingTalk (钉钉) group robot: its webhook key is a secret, written once
    and never shown again (only its last four characters). A robot of a department takes the
    messages of that department's people; one without a department takes everyone else's."""

    kind = models.CharField(_("kind"), max_length=10, choices=[(c.value, c.label) for c in ROBOT_CHANNELS])
    name = models.CharField(_("name"), max_length=100)
    department = models.ForeignKey("organizations.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.CASCADE, related_name="+")
    key = models.CharField(_("webhook key"), max_length=200)
    # DingTalk's "加签" secret (SEC…), optional; the signature is computed per message.
    secret = models.CharField(_("signing secret"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = TenantHistory(excluded_fields=["key", "secret"])

    class Meta:
        app_label = "organizations"
        verbose_name = _("group robot")
        verbose_name_plural = _("group robots")
        ordering = ["kind", "name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="uniq_robot_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_key(self) -> str:
        return "••••" + self.key[-4:] if len(self.key) > 4 else "••••"


class Delivery(TenantOwned):
    """A notification sent on one channel: one row per notification and channel, whatever the
    number of attempts. ``delivered_at`` is when the channel accepted it (the record the review
    window relies on); ``error`` the last refusal; ``address`` where it went (the address, the robot)."""

    class State(models.TextChoices):
        PENDING = "pending", _("waiting to be sent")
        RETRYING = "retrying", _("failed, will retry")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("no address")

    notification = models.ForeignKey(Notification, verbose_name=_("notification"), on_delete=models.CASCADE,
                                      related_name="deliveries")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    robot = models.ForeignKey(Robot, verbose_name=_("group robot"), null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="deliveries")
    address = models.CharField(_("address"), max_length=254, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    # A delivery waiting to be retried (after a channel error, with backoff; or for the robot's
    # rate limit) is sent again by the beat's sweep from this moment.
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        app_label = "organizations"
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["notification_id", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "notification", "channel"], name="uniq_delivery_channel"),
        ]
        indexes = [models.Index(fields=["organization", "robot", "delivered_at"], name="delivery_robot_sent"),
                   models.Index(fields=["state", "next_attempt_at"], name="delivery_retry_due")]

    def __str__(self) -> str:
        return f"{self.notification_id} {self.channel} {self.state}"


class ChannelChoice(TenantOwned):
    """Whether an event kind goes out on a channel: a member's own choice, or, without a member,
    the organisation's default set by HR. The in-app inbox always receives every notification."""

    membership = models.ForeignKey("organizations.Membership", verbose_name=_("member"), null=True, blank=True,
                                   on_delete=models.CASCADE, related_name="channel_choices")
    kind = models.CharField(_("event"), max_length=40)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    enabled = models.BooleanField(_("enabled"), default=True)

    history = TenantHistory()

    class Meta:
        app_label = "organizations"
        verbose_name = _("notification channel choice")
        verbose_name_plural = _("notification channel choices")
        constraints = [
            models.UniqueConstraint(fields=["organization", "membership", "kind", "channel"],
                                    condition=Q(membership__isnull=False), name="uniq_channel_choice_member"),
            models.UniqueConstraint(fields=["organization", "kind", "channel"],
                                    condition=Q(membership__isnull=True), name="uniq_channel_choice_default"),
        ]

    def __str__(self) -> str:
        return f"{self.membership_id or '*'} {self.kind} {self.channel} {self.enabled}"
