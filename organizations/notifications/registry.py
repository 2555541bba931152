"""Event kinds and periodic sweeps, registered by the apps that raise them.

Like the navigation and the home cards, this floor knows neither the models nor the URLs of the
apps above it: each app registers its event kinds in ``AppConfig.ready()`` with a function that,
given the event's subject (the period, the appeal, the pay run) and its occasion, says who is told
what (:class:`Message`: the recipient's membership, a title, a body and a link, already in
zh-Hans: :func:`organizations.notifications.service.notify` renders them under the zh-Hans
locale). A sweep is a function the beat runs for each organisation every NOTIFY_TICK_SECONDS: it
raises events that no single write marks (a deadline tomorrow, sheets generated, a job gone
silent); raising an event twice writes nothing, so a sweep may run as often as it likes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise

from organizations.notifications.models import Channel


@dataclass(frozen=True)
class Message:
    """What one member is told: their membership id, a title, a plain-text body, a link (a path)."""

    recipient_id: int
    title: str
    body: str
    link: str = ""


Messages = Callable[[Any, str], Iterable[Message]]
Sweep = Callable[[Any, dt.datetime], None]  # (organization, now)


@dataclass(frozen=True)
class EventKind:
    """A kind of event. ``channels``: where it goes (besides the inbox) unless HR or the member
    chose otherwise. ``position`` orders the preference pages."""

    key: str
    label: str | Promise
    messages: Messages
    channels: frozenset[str] = field(default_factory=lambda: frozenset({Channel.EMAIL.value}))
    position: int = 0


EVENTS: dict[str, EventKind] = {}
SWEEPS: dict[str, Sweep] = {}


def register_event(*kinds: EventKind) -> None:
    for kind in kinds:
        if kind.key in EVENTS:
            raise ValueError(f"event kind {kind.key!r} is registered twice")
        if len(kind.key) > 40:
            raise ValueError(f"event kind {kind.key!r} is longer than 40 characters")
        EVENTS[kind.key] = kind


def register_sweep(name: str, sweep: Sweep) -> None:
    if name in SWEEPS:
        raise ValueError(f"notification sweep {name!r} is registered twice")
    SWEEPS[name] = sweep


def event(key: str) -> EventKind:
    try:
        return EVENTS[key]
    except KeyError:
        raise ValueError(f"event kind {key!r} is not registered") from None


def events() -> list[EventKind]:
    return sorted(EVENTS.values(), key=lambda kind: (kind.position, kind.key))


def label_of(key: str) -> str:
    kind = EVENTS.get(key)
    return str(kind.label) if kind is not None else key


# The event whose deliveries a review window relies on (results published, about a period: "silence
# counts as consent only after a delivered notice"), and the model of its subject, as "app.Model".
RECORD: dict[str, str] = {}


def register_record(kind: str, model: str) -> None:
    if RECORD:
        raise ValueError("the notice record is registered twice")
    RECORD.update(kind=kind, model=model)
