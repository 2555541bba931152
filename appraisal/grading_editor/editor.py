"""The grading policy editor: its fields and rows into the arguments of
``appraisal.policies.save_grading_policy`` (the service the JSON page and the API call), a stored
policy back into fields and rows, and the service's problems put on the field or row they are about.

The rows build the config as written (numbers as strings, shares as fractions of 1); nothing here
decides whether it is a sound policy: appraisal.policy_checks does, for every path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django import forms
from django.forms import BaseFormSet, formset_factory
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from appraisal import grading
from appraisal import rules as rule_engine
from appraisal.grading_editor.forms import BETWEEN, COUNT, SHARE, BandRow, PolicyHeaderForm, QuotaRow, RuleRow
from appraisal.models import GradingPolicy
from appraisal.policies import save_grading_policy
from appraisal.policy_checks import STATUSES_WITH_GRADES
from core.configs import ConfigError
from indicators.editors.fields import from_percent, number_text, plain, to_percent
from indicators.editors.indicator import MAX_ROWS, apply_action, styled
from organizations.models import Organization, User

ROWS: dict[str, tuple[type[forms.Form], Any]] = {
    "bands": (BandRow, _("Grade scale (best grade first)")),
    "quotas": (QuotaRow, _("Quotas")),
    "rules": (RuleRow, _("Rules over consecutive periods")),
}
_FORMSETS = {prefix: formset_factory(form, extra=0, max_num=MAX_ROWS, validate_max=True)
             for prefix, (form, _title) in ROWS.items()}
STATUS_FIELDS = {"exempt": "exempt_grade", "long_leave": "long_leave_grade"}
# Where a config key of a row is typed in the row.
_BAND_FIELDS = {"grade": "grade", "label": "label", "from": "lower", "max": "upper", "coefficient": "coefficient"}
_QUOTA_FIELDS = {"grade": "grade", "op": "op", "share": "value", "count": "value", "min_count": "value",
                 "max_count": "max_count"}
_RULE_FIELDS = {"code": "code", "name": "name", "kind": "kind", "outcome": "outcome", "grade": "grade",
                "n": "n", "periods": "n", "count": "n", "of_last": "of_last", "same_year": "same_year",
                "current_must_meet": "current_must_meet", "min_population": "min_population",
                "condition": "condition", "fact": "fact"}
_PATH = re.compile(r"^(?P<top>[a-z_]+)(?:\[(?P<index>\d+)\])?(?:\.(?P<rest>.+))?$")


def _filled(data: Mapping[str, Any], ignore: tuple[str, ...] = ()) -> bool:
    return any(value not in (None, "", False) for key, value in data.items() if key not in ignore)


def _whole(value: Decimal | None) -> int | str | None:
    """A head count as the config takes it: an int, or the number as typed for the check to refuse."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else format(value, "f")


class PolicyEditor:
    """Everything the grading policy editor posts, and the policy it makes."""

    def __init__(self, data: QueryDict | None = None, *, policy: GradingPolicy | None = None,
                 action: str = "") -> None:
        if data is not None and action:
            data = apply_action(data, action)
        self.data = data
        self.problems: list[str] = []  # what belongs to no field or row
        self.row_errors: dict[str, list[str]] = {prefix: [] for prefix in ROWS}
        if data is None:
            header, rows = initial_from(policy)
            self.header = PolicyHeaderForm(initial=header)
            self.rows = {prefix: styled(_FORMSETS[prefix](prefix=prefix, initial=rows[prefix])) for prefix in ROWS}
        else:
            self.header = PolicyHeaderForm(data)
            self.rows = {prefix: styled(_FORMSETS[prefix](data, prefix=prefix)) for prefix in ROWS}

    def row_sets(self) -> list[tuple[str, Any, BaseFormSet, list[str]]]:
        return [(prefix, title, self.rows[prefix], self.row_errors[prefix]) for prefix, (_f, title) in ROWS.items()]

    def grade_codes(self) -> list[str]:
        """The grade codes typed in the band rows, for the grade fields' list."""
        formset = self.rows["bands"]
        if self.data is None:
            return [str(row.get("grade")) for row in formset.initial or [] if row.get("grade")]
        codes = (str(self.data.get(f"bands-{n}-grade", "")).strip() for n in range(formset.total_form_count()))
        return [code for code in codes if code]

    @property
    def has_errors(self) -> bool:
        if self.data is None:
            return False
        return bool(self.problems or any(self.row_errors.values()) or self.header.errors
                    or any(any(formset.errors) or formset.non_form_errors() for formset in self.rows.values()))

    # --- the rows into the service's arguments -------------------------------------------------

    def values(self) -> dict[str, Any] | None:
        """The keyword arguments of save_grading_policy (without organization and acting_user), or
        None while a field cannot be read (the error is on it)."""
        valid = self.header.is_valid()
        valid = all([formset.is_valid() for formset in self.rows.values()]) and valid
        if not valid:
            return None
        head = self.header.cleaned_data
        quotas = [self._quota(form) for form in self.rows["quotas"].forms if _filled(form.cleaned_data, ("op", "unit"))]
        if any(quota is None for quota in quotas):
            return None
        status_grades = {status: (head[field] or "").strip() or None for status, field in STATUS_FIELDS.items()}
        return {
            "code": head["code"].strip(), "name": head["name"].strip(),
            "scale": {"boundary": head["boundary"], "bands": [
                self._band(form.cleaned_data) for form in self.rows["bands"].forms if _filled(form.cleaned_data)]},
            "quotas": quotas,
            "rounding": head["rounding"], "population": head["population"],
            "calibration_share": head["calibration_share"] / Decimal(100),
            "status_grades": {status: grade for status, grade in status_grades.items() if grade is not None},
            "rules": [self._rule(form.cleaned_data) for form in self.rows["rules"].forms
                      if _filled(form.cleaned_data, ("kind", "outcome"))],
            "appeal_group": head["appeal_group"], "untold_extension_days": head["untold_extension_days"] or 0,
        }

    @staticmethod
    def _band(row: Mapping[str, Any]) -> dict[str, Any]:
        band = {"grade": (row["grade"] or "").strip(), "from": number_text(row["lower"]),
                "max": number_text(row["upper"]), "coefficient": number_text(row["coefficient"])}
        if (row["label"] or "").strip():
            band["label"] = row["label"].strip()
        return band

    @staticmethod
    def _quota(form: forms.Form) -> dict[str, Any] | None:
        row = form.cleaned_data
        quota: dict[str, Any] = {"grade": (row["grade"] or "").strip()}
        if row["op"] == BETWEEN:
            if row["unit"] == SHARE:
                form.add_error("unit", _("A range is given in people."))
                return None
            quota.update({"min_count": _whole(row["value"]), "max_count": _whole(row["max_count"])})
            return quota
        if row["max_count"] is not None:
            form.add_error("max_count", _("Only a range (from … to) has an upper count."))
            return None
        quota["op"] = row["op"]
        if row["unit"] == SHARE:
            quota["share"] = from_percent(row["value"])
        else:
            quota["count"] = _whole(row["value"])
        return quota

    @staticmethod
    def _rule(row: Mapping[str, Any]) -> dict[str, Any]:
        kind = row["kind"]
        config: dict[str, Any] = {}
        if kind == "bottom_n":
            config.update({"n": row["n"], "min_population": row["min_population"]})
        else:
            config[{"streak": "periods"}.get(kind, "count")] = row["n"]
            condition = _condition(row)
            if condition is not None:
                config["condition"] = condition
        if kind == "count_in_window":
            config.update({"of_last": row["of_last"], "same_year": row["same_year"],
                           "current_must_meet": row["current_must_meet"]})
        rule: dict[str, Any] = {"code": (row["code"] or "").strip(), "kind": kind, "outcome": row["outcome"],
                                "config": {key: value for key, value in config.items() if value is not None}}
        if (row["name"] or "").strip():
            rule["name"] = row["name"].strip()
        if (row["grade"] or "").strip():
            rule["grade"] = row["grade"].strip()
        return rule

    # --- the service's problems onto the fields -------------------------------------------------

    def place(self, problems: Mapping[str, list[str]]) -> None:
        """Each problem of appraisal.policies.PolicyRejected on its field or row, minus its config path."""
        for field, messages in problems.items():
            for message in messages:
                self._place_one(field, message)

    def _place_one(self, field: str, message: str) -> None:
        if field in ("rounding", "population", "calibration_share"):
            self.header.add_error(field, message)
            return
        if field == "status_grades":
            status, rest = _split(message)
            if status in STATUS_FIELDS and rest:
                self.header.add_error(STATUS_FIELDS[status], rest)
            else:
                self.problems.append(message)
            return
        path, text = _split(message)
        if not text:
            path, text = field, message
        # policy_checks names the scale's and the quotas' paths after the field ("scale.bands[1].from",
        # "quotas.quotas[0].grade"); a number's own check names its path again: HR reads labels instead.
        inner = path.removeprefix(f"{field}.") if field in ("scale", "quotas") else path
        while True:
            start, rest = _split(text)
            if start not in (inner, path) or not rest:
                break
            text = rest
        self._place_path(inner, text)

    def _place_path(self, path: str, text: str) -> None:
        found = _PATH.match(path)
        if found is None:
            self.problems.append(text)
            return
        top, index, rest = found["top"], found["index"], found["rest"] or ""
        if top == "boundary":
            self.header.add_error("boundary", text)
            return
        prefix = {"bands": "bands", "quotas": "quotas", "rules": "rules"}.get(top)
        if prefix is None:
            self.problems.append(text)
            return
        forms_ = self.rows[prefix].forms
        if index is None or int(index) >= len(forms_):
            self.row_errors[prefix].append(text)
            return
        names = {"bands": _BAND_FIELDS, "quotas": _QUOTA_FIELDS, "rules": _RULE_FIELDS}[prefix]
        forms_[self._form_index(prefix, int(index))].add_error(_row_field(prefix, rest, names), text)

    def _form_index(self, prefix: str, index: int) -> int:
        """The form of the ``index``-th filled row (empty rows are not in the config)."""
        ignore = {"quotas": ("op", "unit"), "rules": ("kind", "outcome")}.get(prefix, ())
        filled = [n for n, form in enumerate(self.rows[prefix].forms)
                  if _filled(getattr(form, "cleaned_data", {}) or {}, ignore)]
        return filled[index] if index < len(filled) else index


def _split(message: str) -> tuple[str, str]:
    """("path", "message") of "path: message" (the colon may be a full-width one once translated)."""
    found = re.match(r"^([^\s:：]+)[:：]\s?(.*)$", message, re.DOTALL)
    return (found[1], found[2]) if found else ("", message)


def _row_field(prefix: str, rest: str, names: Mapping[str, str]) -> str | None:
    """The row's field a config path inside the row is about (None: the row as a whole)."""
    keys = [key.split("[")[0] for key in rest.split(".") if key]
    if prefix == "rules" and keys[:1] == ["config"]:
        keys = keys[1:]
        if keys[:1] == ["condition"]:
            return "fact" if keys[1:2] == ["fact"] else ("value" if len(keys) > 1 else "condition")
    return names.get(keys[0]) if keys else None


def _condition(row: Mapping[str, Any]) -> dict[str, Any] | None:
    test, value = row["condition"], (row["value"] or "").strip()
    if not test:
        return None
    if test == "grade_in":
        return {"grade_in": [grade for grade in re.split(r"[,，、\s]+", value) if grade]}
    if test.startswith("fact:"):
        return {"fact": (row["fact"] or "").strip(), test.split(":", 1)[1]: value or None}
    return {test: value or None}


# --- a stored policy into fields and rows ---------------------------------------------------------


def initial_from(policy: GradingPolicy | None) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """The editor's fields for a new version of ``policy``, or a three-grade start for a new one."""
    if policy is None:
        header = {"boundary": "lower_inclusive", "population": GradingPolicy.Population.ORGANIZATION,
                  "rounding": GradingPolicy.Rounding.HALF_UP, "calibration_share": "5", "untold_extension_days": 0}
        start = [{"grade": "A", "label": "", "lower": "90"}, {"grade": "B", "label": "", "lower": "70"},
                 {"grade": "C", "label": ""}]
        return header, {"bands": start, "quotas": [], "rules": []}
    scale = policy.scale or {}
    status_grades = policy.status_grades or {}
    header = {"code": policy.code, "name": policy.name, "boundary": scale.get("boundary", "lower_inclusive"),
              "population": policy.population, "rounding": policy.rounding,
              "calibration_share": to_percent(policy.calibration_share),
              "appeal_group": policy.appeal_group.code if policy.appeal_group else None,
              "untold_extension_days": policy.untold_extension_days}
    header.update({field: status_grades.get(status) or "" for status, field in STATUS_FIELDS.items()})
    bands: list[dict[str, Any]] = [
        {"grade": band.get("grade"), "label": band.get("label") or "", "lower": plain(band.get("from")),
         "upper": plain(band.get("max")), "coefficient": plain(band.get("coefficient"))}
        for band in scale.get("bands", [])]
    return header, {"bands": bands, "quotas": [_quota_row(quota) for quota in policy.quotas or []],
                    "rules": [_rule_row(rule) for rule in policy.rules or []]}


def _quota_row(quota: Mapping[str, Any]) -> dict[str, Any]:
    if quota.get("share") is not None:
        return {"grade": quota["grade"], "op": quota.get("op"), "unit": SHARE, "value": to_percent(quota["share"])}
    if quota.get("count") is not None:
        return {"grade": quota["grade"], "op": quota.get("op"), "unit": COUNT, "value": plain(quota["count"])}
    return {"grade": quota["grade"], "op": BETWEEN, "unit": COUNT, "value": plain(quota.get("min_count")),
            "max_count": plain(quota.get("max_count"))}


def _rule_row(rule: Mapping[str, Any]) -> dict[str, Any]:
    config = rule.get("config") or {}
    row: dict[str, Any] = {"code": rule.get("code"), "name": rule.get("name") or "", "kind": rule.get("kind"),
                           "outcome": rule.get("outcome"), "grade": rule.get("grade") or "",
                           "n": config.get("n", config.get("periods", config.get("count"))),
                           "of_last": config.get("of_last"), "min_population": config.get("min_population"),
                           "same_year": bool(config.get("same_year")),
                           "current_must_meet": bool(config.get("current_must_meet"))}
    condition = dict(config.get("condition") or {})
    if "fact" in condition:
        fact = condition.pop("fact")
        ((test, value),) = condition.items() if len(condition) == 1 else (("", ""),)
        row.update({"condition": f"fact:{test}", "fact": fact, "value": plain(value)})
    elif condition:
        ((test, value),) = list(condition.items())[:1]
        row.update({"condition": test, "value": ", ".join(value) if test == "grade_in" else plain(value)})
    return row


# --- nothing changed ------------------------------------------------------------------------------


def unchanged(policy: GradingPolicy, values: Mapping[str, Any]) -> bool:
    """Whether ``values`` (as the service takes them) say exactly what ``policy`` says: saving them
    would write a version that changes nothing. A set grade left out and one given as null are alike
    (both mean "not assessed")."""
    # Compared as read (Decimals), not as written: a share of 70 % comes back as "0.7" where the
    # stored version may say "0.70".
    try:
        scale = grading.GradeScale.from_config(values["scale"])
        draft = (scale, grading.read_quotas(list(values["quotas"]), scale),
                 [rule_engine.validate_rule(rule) for rule in values["rules"]])
        stored = grading.GradeScale.from_config(policy.scale)
        saved = (stored, grading.read_quotas(policy.quotas or [], stored), policy.rules or [])
    except ConfigError:
        return False
    group = values.get("appeal_group")
    return (
        draft == saved
        and (values["name"], values["rounding"], values["population"]) == (policy.name, policy.rounding,
                                                                            policy.population)
        and Decimal(values["calibration_share"]) == policy.calibration_share
        and {k: v for k, v in values["status_grades"].items() if v} == _set_grades(policy)
        and (group.pk if group is not None else None) == policy.appeal_group_id
        and int(values.get("untold_extension_days") or 0) == policy.untold_extension_days
    )


def _set_grades(policy: GradingPolicy) -> dict[str, Any]:
    return {status: grade for status, grade in (policy.status_grades or {}).items()
            if grade and status in STATUSES_WITH_GRADES}


# --- saving ---------------------------------------------------------------------------------------


def save_policy(*, organization: Organization, acting_user: User | None,
                values: Mapping[str, Any]) -> tuple[GradingPolicy, bool]:
    """The next version of the policy through appraisal.policies.save_grading_policy, and True; or,
    when ``values`` say exactly what the latest version of the code says, that version and False
    (no version that changes nothing). PolicyRejected as the service raises it."""
    latest = GradingPolicy.objects.filter(code=values["code"]).order_by("-version").first()
    if latest is not None and unchanged(latest, values):
        return latest, False
    return save_grading_policy(organization=organization, acting_user=acting_user, **values), True
