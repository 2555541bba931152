"""What the editor shows of each pay component kind: its settings as labelled fields and its lists
(tiers, bands, a grade → coefficient table …) as rows, declared once per kind. The form is made from
these declarations, and so are the config the rows build and the place an engine error is shown.

The keys are the engine's config keys (payroll/engine/kinds/, payroll/engine/group.py); a dotted key
("quota_bands.input") is a setting inside a nested object. HR sees only the labels (zh-Hans msgids):
no key is ever shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from payroll.engine import KINDS
from payroll.labels import KIND_LABELS

# What a field holds; the type says how it is written in the config and which names it offers.
FORMULA = "formula"  # a number formula (a plain number too), offered the number names
CONDITION = "condition"  # a yes/no formula
NUMBER = "number"  # a number, written as a string ("1.2")
NUMBER_NAME = "number_name"  # the name of a number input or earlier component
TEXT_NAME = "text_name"  # the name of a text input (grade, level, role …)
ANY_NAME = "any_name"  # a number or a text input (a lookup's key)
TEXT = "text"  # a label
CHOICE = "choice"
BOOL = "bool"
FORMULAS = "formulas"  # several formulas in one cell, separated by ";"

LIST, MAP, FORMULA_LIST = "list", "map", "formula_list"  # a table: list of objects, key → value, list of formulas
YES, NO = "true", "false"
BOOL_CHOICES = [(YES, pgettext_lazy("a yes/no setting", "Yes")), (NO, pgettext_lazy("a yes/no setting", "No"))]


@dataclass(frozen=True)
class Setting:
    key: str  # the config key ("quota_bands.input" inside a nested object)
    label: Any
    type: str = FORMULA
    required: bool = False
    help: Any = ""
    choices: tuple[tuple[str, Any], ...] = ()
    default: str = ""  # a yes/no setting's value when the form has not been posted with it

    @property
    def is_formula(self) -> bool:
        return self.type in (FORMULA, CONDITION)


@dataclass(frozen=True)
class Column:
    key: str
    label: Any
    type: str = NUMBER
    required: bool = True  # a filled row without it is refused on the cell, before the engine is asked


@dataclass(frozen=True)
class Table:
    key: str
    label: Any
    columns: tuple[Column, ...]
    shape: str = LIST
    help: Any = ""
    start_rows: int = 1


@dataclass(frozen=True)
class KindSpec:
    code: str
    settings: tuple[Setting, ...] = ()
    tables: tuple[Table, ...] = field(default_factory=tuple)

    @property
    def label(self) -> Any:
        return KIND_LABELS.get(self.code, self.code)


def _choices(*pairs: tuple[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(pairs)


LABEL = Column("label", pgettext_lazy("pay policy editor", "label"), TEXT, required=False)
GRADE_INPUT = Setting(
    "grade_input", _("grade read from"), TEXT_NAME, help=_("Empty: the grade of the period's result.")
)
DEFAULT_CHOICE = ("", pgettext_lazy("a setting left to its default", "Default"))

SPECS: dict[str, KindSpec] = {
    spec.code: spec
    for spec in (
        KindSpec(
            "grade_coefficient",
            (
                GRADE_INPUT,
                Setting(
                    "coefficient",
                    _("coefficient formula (instead of the table)"),
                    help=_("Leave the grade table empty then."),
                ),
                Setting("quota", _("quota formula (instead of the bands)"), help=_("Leave the bands empty then.")),
                Setting(
                    "quota_bands.input",
                    _("quota bands by"),
                    NUMBER_NAME,
                    help=_("A number input, picked from the list."),
                ),
                Setting(
                    "quota_bands.to_inclusive",
                    _("a band includes its upper end"),
                    BOOL,
                    choices=tuple(BOOL_CHOICES),
                    default=YES,
                ),
            ),
            (
                Table(
                    "coefficients",
                    _("Coefficient by grade"),
                    (
                        Column("key", pgettext_lazy("pay policy editor", "grade"), TEXT),
                        Column("value", pgettext_lazy("pay policy editor", "coefficient")),
                    ),
                    MAP,
                ),
                Table(
                    "quota_bands.bands",
                    _("Quota bands (rising; the last one open)"),
                    (
                        Column("to", _("up to (empty on the last band)"), required=False),
                        Column("quota", pgettext_lazy("pay policy editor", "quota")),
                    ),
                    start_rows=2,
                ),
            ),
        ),
        KindSpec(
            "fixed_floating_split",
            (
                Setting("total", pgettext_lazy("pay policy editor", "total"), required=True),
                Setting("level_input", _("level read from"), TEXT_NAME, help=_("Empty: the person's level.")),
                Setting("coefficient", _("coefficient of the floating part"), help=_("Empty: 1.")),
                Setting(
                    "part",
                    _("line pays"),
                    CHOICE,
                    choices=_choices(
                        DEFAULT_CHOICE,
                        ("total", _("fixed + floating")),
                        ("fixed", _("the fixed part")),
                        ("floating", _("the floating part")),
                    ),
                ),
            ),
            (
                Table(
                    "splits",
                    _("Fixed : floating by level"),
                    (
                        Column("key", pgettext_lazy("pay policy editor", "level"), TEXT),
                        Column("value", _("ratio, e.g. 4:6"), TEXT),
                    ),
                    MAP,
                ),
            ),
        ),
        KindSpec(
            "per_unit",
            (),
            (
                Table(
                    "rates",
                    _("Rates"),
                    (
                        LABEL,
                        Column("input", _("count read from"), NUMBER_NAME),
                        Column("rate", pgettext_lazy("pay policy editor", "rate")),
                    ),
                ),
            ),
        ),
        KindSpec(
            "tiered",
            (
                Setting("quantity", pgettext_lazy("pay policy editor", "quantity"), required=True),
                Setting(
                    "mode",
                    _("how tiers pay"),
                    CHOICE,
                    required=True,
                    choices=_choices(
                        ("whole", _("every unit at the rate of the tier reached")),
                        ("marginal", _("each band of the quantity at its own rate")),
                    ),
                ),
                Setting(
                    "boundary",
                    _("a quantity equal to a tier's start"),
                    CHOICE,
                    choices=_choices(
                        DEFAULT_CHOICE,
                        ("lower_inclusive", _("reaches the tier")),
                        ("upper_inclusive", _("stays in the tier below")),
                    ),
                    help=_("Only when every unit is paid at the tier reached."),
                ),
            ),
            (
                Table(
                    "tiers",
                    _("Tiers (rising)"),
                    (
                        LABEL,
                        Column("from", pgettext_lazy("pay policy editor", "from")),
                        Column("rate", pgettext_lazy("pay policy editor", "rate")),
                    ),
                    start_rows=2,
                ),
            ),
        ),
        KindSpec(
            "quota_saving",
            (
                Setting("quota", pgettext_lazy("pay policy editor", "quota"), required=True),
                Setting("actual", pgettext_lazy("pay policy editor", "actual"), required=True),
                Setting("price", pgettext_lazy("pay policy editor", "price"), help=_("Empty: 1.")),
                Setting("reward_share", _("share of a saving earned (0–1)"), NUMBER, required=True),
                Setting("excess_rate", _("rate deducted for an excess"), NUMBER, help=_("Empty: 1.")),
            ),
        ),
        KindSpec(
            "penalty_points",
            (Setting("cap", _("largest deduction"), NUMBER, help=_("Empty: no cap.")),),
            (
                Table(
                    "items",
                    _("Deductions"),
                    (LABEL, Column("input", _("count read from"), NUMBER_NAME), Column("amount", _("amount each"))),
                ),
            ),
        ),
        KindSpec(
            "withheld",
            (
                Setting("amount", _("amount withheld"), required=True),
                Setting("release_when", _("pay the balance back when"), CONDITION, required=True),
                Setting("forfeit_when", _("forfeit the balance when"), CONDITION),
            ),
        ),
        KindSpec(
            "accrual",
            (
                Setting("amount", _("amount accrued"), required=True),
                Setting("skip_when", _("forfeit this period's accrual when"), CONDITION),
                Setting("pay_when", _("pay the balance when"), CONDITION, required=True),
                Setting("forfeit_when", _("forfeit the balance when"), CONDITION),
            ),
        ),
        KindSpec(
            "quarter_true_up",
            (
                Setting("base", pgettext_lazy("pay policy editor", "base"), required=True),
                Setting("coefficient", pgettext_lazy("pay policy editor", "coefficient"), required=True),
                Setting("months", pgettext_lazy("pay policy editor", "months"), NUMBER, help=_("Empty: 3.")),
            ),
        ),
        KindSpec(
            "weighted_annual",
            (
                Setting(
                    "base",
                    pgettext_lazy("pay policy editor", "multiplied by"),
                    help=_("Empty: the weighted sum itself."),
                ),
            ),
            (
                Table(
                    "parts",
                    _("Parts"),
                    (
                        LABEL,
                        Column("weight", pgettext_lazy("pay policy editor", "weight")),
                        Column("value", pgettext_lazy("pay policy editor", "value"), FORMULA, required=False),
                        Column("average", _("or the average of (separated by ;)"), FORMULAS, required=False),
                    ),
                ),
            ),
        ),
        KindSpec(
            "revenue_pool",
            (Setting("rate", _("rate of the net revenue"), NUMBER, required=True),),
            (
                Table(
                    "revenue",
                    _("Revenue"),
                    (Column("value", pgettext_lazy("pay policy editor", "formula"), FORMULA),),
                    FORMULA_LIST,
                ),
                Table(
                    "costs",
                    _("Costs"),
                    (Column("value", pgettext_lazy("pay policy editor", "formula"), FORMULA),),
                    FORMULA_LIST,
                ),
            ),
        ),
        KindSpec(
            "fixed",
            (
                Setting("amount", pgettext_lazy("pay policy editor", "amount"), required=True),
                Setting(
                    "combine",
                    _("several deductions"),
                    CHOICE,
                    choices=_choices(
                        DEFAULT_CHOICE, ("sum", _("add up (at most 100 %)")), ("max", _("the largest one"))
                    ),
                ),
            ),
            (
                Table(
                    "deductions",
                    _("Deductions"),
                    (
                        LABEL,
                        Column("when", pgettext_lazy("pay policy editor", "when"), CONDITION),
                        Column("percent", pgettext_lazy("pay policy editor", "percent")),
                    ),
                    start_rows=0,
                ),
            ),
        ),
        KindSpec("formula", (Setting("expression", pgettext_lazy("pay policy editor", "formula"), required=True),)),
        KindSpec(
            "lookup",
            (
                Setting("input", _("looked up by"), ANY_NAME, required=True),
                Setting(
                    "default", _("value when not in the table"), NUMBER, help=_("Empty: refused, naming the person.")
                ),
            ),
            (
                Table(
                    "bands",
                    _("Bands of a number (rising)"),
                    (
                        Column("from", pgettext_lazy("pay policy editor", "from")),
                        Column("value", pgettext_lazy("pay policy editor", "value")),
                    ),
                ),
                Table(
                    "values",
                    _("Values of a text"),
                    (
                        Column("key", pgettext_lazy("pay policy editor", "text"), TEXT),
                        Column("value", pgettext_lazy("pay policy editor", "value")),
                    ),
                    MAP,
                    start_rows=0,
                ),
            ),
        ),
        KindSpec(
            "pool_split",
            (
                Setting("pool", pgettext_lazy("pay policy editor", "pool"), NUMBER_NAME, required=True),
                Setting("factor", _("share of each person"), help=_("Empty: 1.")),
                Setting("role_input", _("role read from"), TEXT_NAME, help=_("Empty: the person's role.")),
            ),
            (
                Table(
                    "roles",
                    _("Split first by role"),
                    (
                        Column("role", pgettext_lazy("pay policy editor", "role"), TEXT),
                        Column("ratio", pgettext_lazy("pay policy editor", "ratio")),
                        Column(
                            "coefficient", pgettext_lazy("pay policy editor", "coefficient"), FORMULA, required=False
                        ),
                    ),
                    start_rows=0,
                ),
            ),
        ),
        KindSpec(
            "population_average",
            (
                Setting("source", _("average of"), NUMBER_NAME, required=True),
                Setting("among", _("among people for whom"), CONDITION),
                Setting(
                    "over",
                    pgettext_lazy("pay policy editor", "over"),
                    CHOICE,
                    choices=_choices(
                        DEFAULT_CHOICE, ("population", _("everyone")), ("unit", _("the person's department"))
                    ),
                ),
                Setting("coefficient", pgettext_lazy("pay policy editor", "coefficient"), help=_("Empty: 1.")),
            ),
        ),
        KindSpec(
            "leader_bonus",
            (
                Setting("source", _("share of"), NUMBER_NAME, required=True),
                Setting("rate", _("rate of the members' amounts"), NUMBER, required=True),
                Setting(
                    "include_self", _("the leader's own amount counts"), BOOL, choices=tuple(BOOL_CHOICES), default=NO
                ),
            ),
        ),
    )
}

assert set(SPECS) == set(KINDS), "every engine kind needs its editor spec"

ROUNDING_CHOICES = [
    ("half_up", _("round half up")),
    ("down", _("round down")),
    ("up", _("round up")),
    ("half_even", _("round half to even")),
]
KIND_CHOICES = [(code, SPECS[code].label) for code in SPECS]


def spec_of(kind: str) -> KindSpec | None:
    return SPECS.get(kind)


def takes_factor(kind: str) -> bool:
    return kind in KINDS and KINDS[kind].takes_factor
