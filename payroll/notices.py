"""The payroll's event for organizations.notifications: a pay run waits for finance to confirm it.

Raised from the run's save (post_save, after commit): a new version computed, or a provisional one
that became confirmable. A run that is provisional (results still wait for calibration) or no
longer current is not waiting for anyone yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models.signals import post_save
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from organizations.notifications import audience, registry
from organizations.notifications.models import Channel
from organizations.notifications.registry import EventKind, Message
from organizations.notifications.service import messages_for
from organizations.notifications.tasks import raise_on_commit
from payroll.models import PayRun

PAY_RUN_WAITING = "pay_run_waiting"


def waiting(run: PayRun) -> bool:
    return run.state == PayRun.State.COMPUTED and not run.provisional and run.superseded_at is None


def pay_run_waiting(run: PayRun, occasion: str) -> Iterable[Message]:
    if not waiting(run):
        return []
    words = {"period": run.period.name, "version": run.version, "people": run.people,
             "total": format(run.total, ",.2f")}  # already to the fen
    return messages_for(audience.finance(), _("Pay run waiting for confirmation: %(period)s v%(version)s") % words,
                        _("%(people)s people, %(total)s yuan in all. Check it and confirm it to lock it.") % words,
                        reverse("pay-run-detail", args=[run.pk]))


def on_pay_run_saved(sender: Any, instance: PayRun, created: bool, **kwargs: Any) -> None:
    if waiting(instance):
        raise_on_commit(kind=PAY_RUN_WAITING, subject=instance)


def register() -> None:
    registry.register_event(EventKind(PAY_RUN_WAITING, gettext_lazy("A pay run waits for confirmation"),
                                      pay_run_waiting, frozenset({Channel.EMAIL.value}), position=50))
    post_save.connect(on_pay_run_saved, sender=PayRun, dispatch_uid="payroll.notices.pay_run")
