"""Choices the engines and the models share, kept apart from the models so that the pure engines
and the policy checks can name them without importing the models (which use those checks)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SpecialStatus(models.TextChoices):
    """Why a subject is not ranked like everyone else (S1-4). What each means for the grade is the
    grading policy's ``status_grades``: a set grade, or "not assessed"."""

    NORMAL = "normal", _("normal")
    EXEMPT = "exempt", _("exempt (new or moved)")
    LONG_LEAVE = "long_leave", _("long leave")
    REFUSED = "refused", _("refused to be assessed")
