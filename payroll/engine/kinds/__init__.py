"""The per-person component kinds (stage 1): each reads its config and computes one person's amount.

Every ``run`` returns the UNROUNDED amount (the policy rounds it with the component's rounding,
after the optional factor), an explanation in the active language and, for the balance kinds, the
balance movement. Kinds that keep balances round their own parts to the fen so that the movement
adds up exactly (``rounds_itself``).

One module per kind (``withheld`` and ``accrual`` share one: they share the balance logic), named
after the kind's code; :data:`PERSON_KINDS` maps each code to its class.
"""

from __future__ import annotations

from ..common import Kind
from .balances import Accrual, Withheld
from .bands import Bands
from .fixed import Fixed
from .fixed_floating_split import FixedFloatingSplit
from .formula import FormulaKind
from .grade_coefficient import GradeCoefficient
from .lookup import Lookup
from .penalty_points import PenaltyPoints
from .per_unit import PerUnit
from .quarter_true_up import QuarterTrueUp
from .quota_saving import QuotaSaving
from .revenue_pool import RevenuePool
from .tiered import Tiered
from .weighted_annual import WeightedAnnual

__all__ = [
    "PERSON_KINDS",
    "Accrual",
    "Bands",
    "Fixed",
    "FixedFloatingSplit",
    "FormulaKind",
    "GradeCoefficient",
    "Lookup",
    "PenaltyPoints",
    "PerUnit",
    "QuarterTrueUp",
    "QuotaSaving",
    "RevenuePool",
    "Tiered",
    "WeightedAnnual",
    "Withheld",
]

PERSON_KINDS: dict[str, type[Kind]] = {
    kind.code: kind
    for kind in (
        GradeCoefficient,
        FixedFloatingSplit,
        PerUnit,
        Tiered,
        QuotaSaving,
        PenaltyPoints,
        Withheld,
        Accrual,
        QuarterTrueUp,
        WeightedAnnual,
        RevenuePool,
        Fixed,
        FormulaKind,
        Lookup,
    )
}
