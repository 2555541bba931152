"""The editor's "JSON (advanced)" tab: the whole policy as one JSON object, read into the same
arguments the rows make, and saved through the same service (appraisal.policies.save_grading_policy)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appraisal.models import GradingPolicy
from organizations.models import ReviewGroup

KEYS = ("code", "name", "scale", "quotas", "rounding", "population", "calibration_share", "status_grades", "rules",
        "appeal_group", "untold_extension_days")
EXAMPLE: dict[str, Any] = {
    "code": "GRADES", "name": "员工等级评定",
    "scale": {"boundary": "lower_inclusive", "bands": [
        {"grade": "A", "label": "优秀", "from": "90", "coefficient": "1.2"},
        {"grade": "B", "label": "合格", "from": "70", "coefficient": "1.0"},
        {"grade": "C", "label": "待改进", "from": None, "coefficient": "0.8"}]},
    "quotas": [{"grade": "A", "op": "<=", "share": "0.2"}],
    "rounding": "half_up", "population": "organization", "calibration_share": "0.05",
    "status_grades": {"exempt": "B"}, "rules": [], "appeal_group": None, "untold_extension_days": 0,
}


class PolicyJsonForm(forms.Form):
    policy = forms.CharField(label=gettext_lazy("policy (JSON)"), widget=forms.Textarea(
        attrs={"rows": 24, "class": "form-control font-monospace", "spellcheck": "false"}))


def as_json(policy: GradingPolicy | None) -> str:
    """The policy as the JSON tab shows it (the example for a new one)."""
    if policy is None:
        return json.dumps(EXAMPLE, ensure_ascii=False, indent=2)
    data = {
        "code": policy.code, "name": policy.name, "scale": policy.scale, "quotas": policy.quotas,
        "rounding": policy.rounding, "population": policy.population,
        "calibration_share": format(policy.calibration_share.normalize(), "f"),
        "status_grades": policy.status_grades, "rules": policy.rules,
        "appeal_group": policy.appeal_group.code if policy.appeal_group else None,
        "untold_extension_days": policy.untold_extension_days,
    }
    return json.dumps(data, ensure_ascii=False, indent=2)


def read(text: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The service's arguments from the JSON text, or every problem of its shape (the policy itself
    is checked by the service)."""
    try:
        data = json.loads(text)
    except ValueError as error:
        return None, [_("This is not valid JSON: %(error)s") % {"error": error}]
    if not isinstance(data, Mapping):
        return None, [_("Enter a JSON object.")]
    problems = [_('"%(key)s" is not a setting of a grading policy.') % {"key": key} for key in data if key not in KEYS]
    problems += [_("%(key)s: this setting is required.") % {"key": key} for key in ("code", "name", "scale")
                 if not data.get(key)]
    values: dict[str, Any] = {key: data[key] for key in KEYS if key in data}
    values.setdefault("quotas", [])
    values.setdefault("rules", [])
    values.setdefault("status_grades", {})
    values.setdefault("rounding", "half_up")
    values.setdefault("population", GradingPolicy.Population.ORGANIZATION)
    try:
        values["calibration_share"] = Decimal(str(data.get("calibration_share", "0.05")))
    except InvalidOperation:
        problems.append(_("calibration_share: enter a share from 0 to 1, such as 0.05."))
    group = data.get("appeal_group")
    values["appeal_group"] = ReviewGroup.objects.filter(code=group).first() if group else None
    if group and values["appeal_group"] is None:
        problems.append(_('appeal_group: there is no review group "%(code)s".') % {"code": group})
    days = data.get("untold_extension_days", 0)
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 30:
        problems.append(_("untold_extension_days: enter a whole number from 0 to 30."))
    for key, longest in (("code", 30), ("name", 100)):  # the model's lengths
        if key in values and not isinstance(values[key], str):
            problems.append(_("%(key)s: enter text.") % {"key": key})
        elif len(values.get(key) or "") > longest:
            problems.append(_("%(key)s: at most %(count)s characters.") % {"key": key, "count": longest})
    return (None, problems) if problems else (values, [])


def flatten(problems: Mapping[str, list[str]]) -> list[str]:
    """PolicyRejected's problems as lines (their messages already name the config path)."""
    return [message if message.startswith(field) else f"{field}: {message}"
            for field, messages in problems.items() for message in messages]
