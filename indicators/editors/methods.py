"""Each scoring method's settings as labelled fields and rows (indicators.scoring's config keys).

A method is a :class:`MethodForms`: a settings form (the method's single values) and row kinds
(bands, scale labels, items, tiers, acceptance rounds). ``build`` turns the cleaned fields into
the config dict the JSON path takes, and says which config path each row became ("bands[1]" →
row 3 of the band rows), so that a ConfigError lands on its row. ``initial`` does the reverse for
an indicator being edited. Rates and shares are fractions in configs and percentages here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from indicators import scoring
from indicators.editors.fields import amount, from_percent, number_text, percent, plain, to_percent

Rows = dict[str, list[tuple[int, dict[str, Any]]]]  # prefix → (row index, cleaned row) of the rows filled in


@dataclass
class Built:
    """A config built from the fields, and where each of its list entries came from."""

    config: dict[str, Any]
    # config path of a list entry ("bands[1]", "items[0].tiers[0]") → (row prefix, row index)
    places: dict[str, tuple[str, int]] = field(default_factory=dict)
    # rows that belong nowhere (a tier naming no item's code): (row prefix, row index)
    orphans: list[tuple[str, int]] = field(default_factory=list)


BASIS = [("target", _("target")), ("benchmark", _("benchmark")), ("baseline", _("baseline"))]
LOWER_MODES = [("ratio", _("ratio: target ÷ actual")), ("difference", _("difference: 2 − actual ÷ target"))]
ZERO_TARGET = [("met_full", _("full marks when met, else the floor")), ("zero", _("no points")),
               ("full", _("full marks"))]
MEASURES = [("actual", _("the actual value")), ("rate", _("the completion rate"))]
BOUNDARIES = [("lower_inclusive", _("from ≤ value < to")), ("upper_inclusive", _("from < value ≤ to"))]
UNITS = [("points", _("points")), ("share", _("share of full marks"))]


def _choice(label: Any, choices: list[tuple[str, Any]], initial: str) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, choices=choices, initial=initial)


def _places() -> forms.IntegerField:
    return forms.IntegerField(
        label=_("decimal places of the rate (%)"), required=False, min_value=0, max_value=10,
        help_text=_("Empty: the rate is not rounded."),
    )


class RateRulesForm(forms.Form):
    """The completion rate's rules, shared by completion and banded (indicators.scoring.rates)."""

    basis = _choice(_("compared with"), BASIS, "target")
    lower_mode = _choice(_("when lower is better"), LOWER_MODES, "ratio")
    zero_target = _choice(_("when the target is 0"), ZERO_TARGET, "met_full")
    rate_places = _places()


class CompletionForm(RateRulesForm):
    floor_rate = percent(_("floor rate"), help_text=_("Empty: no floor."))
    cap_rate = percent(_("cap rate"), help_text=_("Empty: no cap."))


class BandedForm(RateRulesForm):
    measure = _choice(_("bands of"), MEASURES, "actual")
    boundary = _choice(_("band edges"), BOUNDARIES, "lower_inclusive")
    unit = _choice(_("each band gives"), UNITS, "points")
    otherwise = amount(_("value outside every band"), help_text=_("Empty: a value outside every band is an error."))

    field_order = ["measure", "boundary", "unit", "otherwise", "basis", "lower_mode", "zero_target", "rate_places"]


class ItemsForm(forms.Form):
    money_per_point = amount(_("money per point (CNY)"),
                             help_text=_("Set: money follows the points; leave the items' money empty."))
    total_cap_points = amount(_("cap on total points"), help_text=_("Empty: no cap."))
    total_cap_money = amount(_("cap on total money (CNY)"), help_text=_("Empty: no cap."))


class DeductionForm(ItemsForm):
    floor = amount(_("lowest score"), help_text=_("Empty: the score may go below zero."))


class RatingForm(forms.Form):
    unit = _choice(_("each label gives"), UNITS, "points")


class PassFailForm(forms.Form):
    fail_share = percent(_("share of full marks when not accepted"))


class FormulaForm(forms.Form):
    expression = forms.CharField(
        label=_("formula"), widget=forms.TextInput(attrs={"class": "form-control font-monospace",
                                                           "spellcheck": "false"}),
        required=False,
        help_text=_("Names: actual, target, max_points and the inputs below; functions such as MIN, MAX, IF."),
    )
    inputs = forms.CharField(label=_("further inputs"), required=False,
                             help_text=_("Names of further values entered per line, separated by commas."))


class BandRow(forms.Form):
    low = amount(_("from"))
    high = amount(_("to"))
    value = amount(_("points or share"))


class ScaleRow(forms.Form):
    label = forms.CharField(label=_("label"), required=False, max_length=50)
    value = amount(_("points or share"))


class ItemRow(forms.Form):
    code = forms.CharField(label=_("code"), required=False, max_length=30)
    name = forms.CharField(label=_("name"), required=False, max_length=100)
    points = amount(_("points each time"))
    money = amount(_("money each time (CNY)"))
    cap_points = amount(_("cap on points"))
    cap_money = amount(_("cap on money (CNY)"))


class TierRow(forms.Form):
    item = forms.CharField(label=_("item code"), required=False, max_length=30)
    from_count = forms.IntegerField(label=_("from occurrence"), required=False)
    points = amount(_("points each time"))
    money = amount(_("money each time (CNY)"))


class RoundRow(forms.Form):
    share = percent(_("share of full marks"))


@dataclass(frozen=True)
class RowKind:
    prefix: str
    form: type[forms.Form]
    title: Any
    # config key → row field, where they differ ("points"/"share" → "value")
    aliases: Mapping[str, str] = field(default_factory=dict)


BANDS = RowKind("bands", BandRow, _("Bands"), {"from": "low", "to": "high", "points": "value", "share": "value"})
SCALE = RowKind("scale", ScaleRow, _("Labels"), {"points": "value", "share": "value"})
ITEMS = RowKind("items", ItemRow, _("Items"))
TIERS = RowKind("tiers", TierRow, _("Tiers: from the n-th occurrence on"))
ROUNDS = RowKind("rounds", RoundRow, _("Accepted at round 1, 2, …"))


@dataclass(frozen=True)
class MethodForms:
    settings: type[forms.Form]
    rows: tuple[RowKind, ...]
    build: Callable[[dict[str, Any], Rows], Built]
    initial: Callable[[Mapping[str, Any]], tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]]


# --- building configs ------------------------------------------------------------------------------


def _rate_rules(s: dict[str, Any]) -> dict[str, Any]:
    return {"basis": s["basis"], "lower_mode": s["lower_mode"], "zero_target": s["zero_target"],
            "rate_places": s.get("rate_places")}


def build_completion(s: dict[str, Any], rows: Rows) -> Built:
    return Built({**_rate_rules(s), "floor_rate": from_percent(s.get("floor_rate")),
                  "cap_rate": from_percent(s.get("cap_rate"))})


def build_banded(s: dict[str, Any], rows: Rows) -> Built:
    unit, measure = s["unit"], s["measure"]
    edge = from_percent if measure == "rate" else number_text
    value = from_percent if unit == "share" else number_text
    built = Built({"measure": measure, "boundary": s["boundary"], "unit": unit, "bands": [],
                   "otherwise": value(s.get("otherwise")), **_rate_rules(s)})
    for n, (index, row) in enumerate(rows["bands"]):
        built.config["bands"].append({"from": edge(row.get("low")), "to": edge(row.get("high")),
                                      unit: value(row.get("value"))})
        built.places[f"bands[{n}]"] = ("bands", index)
    return built


def _build_items(s: dict[str, Any], rows: Rows, *, deduction: bool) -> Built:
    built = Built({"items": []})
    positions: dict[str, int] = {}
    for n, (index, row) in enumerate(rows["items"]):
        code = (row.get("code") or "").strip()
        positions.setdefault(code, n)
        built.config["items"].append({
            "code": code, "name": (row.get("name") or "").strip(), "points": number_text(row.get("points")),
            "money": number_text(row.get("money")), "cap_points": number_text(row.get("cap_points")),
            "cap_money": number_text(row.get("cap_money")), "tiers": [],
        })
        built.places[f"items[{n}]"] = ("items", index)
    for index, row in rows["tiers"]:
        position = positions.get((row.get("item") or "").strip())
        if position is None:
            built.orphans.append(("tiers", index))
            continue
        tiers = built.config["items"][position]["tiers"]
        built.places[f"items[{position}].tiers[{len(tiers)}]"] = ("tiers", index)
        tiers.append({"from_count": row.get("from_count"), "points": number_text(row.get("points")),
                      "money": number_text(row.get("money"))})
    for key in ("money_per_point", "total_cap_points", "total_cap_money", *(("floor",) if deduction else ())):
        built.config[key] = number_text(s.get(key))
    return built


def build_rating(s: dict[str, Any], rows: Rows) -> Built:
    unit = s["unit"]
    value = from_percent if unit == "share" else number_text
    built = Built({"unit": unit, "scale": []})
    for n, (index, row) in enumerate(rows["scale"]):
        built.config["scale"].append({"label": (row.get("label") or "").strip(), unit: value(row.get("value"))})
        built.places[f"scale[{n}]"] = ("scale", index)
    return built


def build_pass_fail(s: dict[str, Any], rows: Rows) -> Built:
    built = Built({"round_shares": [], "fail_share": from_percent(s.get("fail_share")) or "0"})
    for n, (index, row) in enumerate(rows["rounds"]):
        built.config["round_shares"].append(from_percent(row.get("share")))
        built.places[f"round_shares[{n}]"] = ("rounds", index)
    return built


def build_formula(s: dict[str, Any], rows: Rows) -> Built:
    text = str(s.get("inputs") or "").replace("，", ",").replace("、", ",")
    inputs = [name.strip() for name in text.split(",") if name.strip()]
    return Built({"expression": str(s.get("expression") or ""), "inputs": inputs})


# --- initial values from a stored config -------------------------------------------------------------

Initial = tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]


def _rate_initial(config: Mapping[str, Any]) -> dict[str, Any]:
    return {"basis": config.get("basis", "target"), "lower_mode": config.get("lower_mode", "ratio"),
            "zero_target": config.get("zero_target", "met_full"), "rate_places": config.get("rate_places")}


def initial_completion(config: Mapping[str, Any]) -> Initial:
    return {**_rate_initial(config), "floor_rate": to_percent(config.get("floor_rate", "0")),
            "cap_rate": to_percent(config.get("cap_rate"))}, {}


def initial_banded(config: Mapping[str, Any]) -> Initial:
    unit, measure = config.get("unit", "points"), config.get("measure", "actual")
    edge = to_percent if measure == "rate" else plain
    value = to_percent if unit == "share" else plain
    bands = [{"low": edge(b.get("from")), "high": edge(b.get("to")), "value": value(b.get(unit))}
             for b in config.get("bands", []) if isinstance(b, Mapping)]
    settings = {**_rate_initial(config), "measure": measure, "boundary": config.get("boundary", "lower_inclusive"),
                "unit": unit, "otherwise": value(config.get("otherwise"))}
    return settings, {"bands": bands}


def initial_items(config: Mapping[str, Any]) -> Initial:
    items, tiers = [], []
    for item in config.get("items", []):
        if not isinstance(item, Mapping):
            continue
        items.append({key: plain(item.get(key)) for key in ("code", "name", "points", "money", "cap_points",
                                                           "cap_money")})
        tiers += [{"item": item.get("code"), "from_count": t.get("from_count"), "points": plain(t.get("points")),
                   "money": plain(t.get("money"))} for t in item.get("tiers") or [] if isinstance(t, Mapping)]
    settings = {key: plain(config.get(key)) for key in ("money_per_point", "total_cap_points", "total_cap_money")}
    settings["floor"] = plain(config.get("floor", "0"))
    return settings, {"items": items, "tiers": tiers}


def initial_rating(config: Mapping[str, Any]) -> Initial:
    unit = config.get("unit", "points")
    value = to_percent if unit == "share" else plain
    scale = [{"label": e.get("label"), "value": value(e.get(unit))}
             for e in config.get("scale", []) if isinstance(e, Mapping)]
    return {"unit": unit}, {"scale": scale}


def initial_pass_fail(config: Mapping[str, Any]) -> Initial:
    rounds = [{"share": to_percent(share)} for share in config.get("round_shares", [])]
    return {"fail_share": to_percent(config.get("fail_share", "0"))}, {"rounds": rounds}


def initial_formula(config: Mapping[str, Any]) -> Initial:
    return {"expression": config.get("expression", ""), "inputs": ", ".join(config.get("inputs") or [])}, {}


# One sentence per method above its settings, in the words of the fields (METHOD_HELP names config keys).
EDITOR_HELP: dict[str, Any] = {
    scoring.Method.COMPLETION: _("Completion rate = actual ÷ target (target ÷ actual when lower is better), kept "
                                "between the floor and the cap; score = full marks × rate."),
    scoring.Method.BANDED: _("The band the value falls in gives its points, or a share of the full marks; bands "
                             "must not overlap or leave gaps."),
    scoring.Method.DEDUCTION: _("Each recorded occurrence of an item costs its points (from a tier's occurrence on, "
                                "the tier's); score = full marks − deductions, not below the lowest score."),
    scoring.Method.BONUS: _("Each recorded occurrence of an item adds its points, up to the cap on total points."),
    scoring.Method.RATING: _("Raters pick a label; each label gives points or a share of the full marks."),
    scoring.Method.PASS_FAIL: _("Accepted at round 1, 2, … earns that round's share of the full marks; not "
                                "accepted earns the share below."),
    scoring.Method.FORMULA: _("An expression over actual, target, max_points and the further inputs, e.g. "
                              "MIN(actual / target, 1.2) * max_points."),
}

METHODS: dict[str, MethodForms] = {
    scoring.Method.COMPLETION: MethodForms(CompletionForm, (), build_completion, initial_completion),
    scoring.Method.BANDED: MethodForms(BandedForm, (BANDS,), build_banded, initial_banded),
    scoring.Method.DEDUCTION: MethodForms(DeductionForm, (ITEMS, TIERS),
                                          lambda s, r: _build_items(s, r, deduction=True), initial_items),
    scoring.Method.BONUS: MethodForms(ItemsForm, (ITEMS, TIERS),
                                      lambda s, r: _build_items(s, r, deduction=False), initial_items),
    scoring.Method.RATING: MethodForms(RatingForm, (SCALE,), build_rating, initial_rating),
    scoring.Method.PASS_FAIL: MethodForms(PassFailForm, (ROUNDS,), build_pass_fail, initial_pass_fail),
    scoring.Method.FORMULA: MethodForms(FormulaForm, (), build_formula, initial_formula),
}
