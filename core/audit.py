"""The two steps every audited write shares (zulip's action functions): apply only what changed,
so that a no-op returns early without a history row, and save with who and why for
django-simple-history."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def apply_changes(instance: Any, changes: Mapping[str, Any]) -> list[str]:
    """Sets the fields of ``changes`` that differ from ``instance`` and returns their names (empty:
    nothing changed, and the caller writes nothing)."""
    changed = [name for name, value in changes.items() if getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, changes[name])
    return changed


def audited_save(instance: Any, *, acting_user: Any, reason: str) -> None:
    """Validates and saves ``instance`` with its history row naming ``acting_user`` and ``reason``."""
    instance.full_clean()
    instance._history_user = acting_user
    instance._change_reason = reason
    instance.save()
