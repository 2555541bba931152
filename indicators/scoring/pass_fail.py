"""pass_fail — acceptance (验收) with remediation rounds (S0-1)::

    {"round_shares": ["1", "0.8", "0.6"], "fail_share": "0"}

    Accepted at round r (``line.acceptance_round``, default 1) → round_shares[r−1] × max_points,
    rounds beyond the list take the last share; not accepted → fail_share × max_points.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core import configs
from core.translation import _
from indicators.scoring.common import ZERO, LineInput, ScoreResult, ScoringError, Trace, exact, finish_unit


@dataclass(frozen=True)
class PassFail:
    round_shares: tuple[Decimal, ...]
    fail_share: Decimal


def read_pass_fail(config: Mapping[str, Any], names: frozenset[str]) -> tuple[PassFail, dict[str, Any]]:
    configs.known_keys(config, ("round_shares", "fail_share"), suggest=True)
    shares = tuple(
        configs.required_number({"share": value}, "share", configs.path("round_shares", position), minimum=ZERO)
        for position, value in enumerate(configs.sequence(config.get("round_shares"), "round_shares"))
    )
    fail = configs.optional_number(config, "fail_share", "fail_share", default="0", minimum=ZERO)
    assert fail is not None
    normalised = {"round_shares": [exact(s) for s in shares], "fail_share": exact(fail)}
    return PassFail(shares, fail), normalised


def score_pass_fail(spec: PassFail, line: LineInput) -> ScoreResult:
    if line.accepted is None:
        raise ScoringError(_("The acceptance result has not been recorded."), subject=line.subject)
    trace = Trace()
    if not line.accepted:
        trace.say(_("not accepted"))
        trace.step("acceptance.failed", share=spec.fail_share)
        return finish_unit(trace, "share", spec.fail_share, line)
    round_ = 1 if line.acceptance_round is None else line.acceptance_round
    if isinstance(round_, bool) or not isinstance(round_, int) or round_ < 1:
        raise ScoringError(
            _("The acceptance round must be 1 or more, not %(round)r.") % {"round": line.acceptance_round},
            subject=line.subject,
        )
    last = len(spec.round_shares)
    share = spec.round_shares[min(round_, last) - 1]
    if round_ > last:
        trace.say(
            _("accepted at round %(round)s (rounds after %(last)s count as round %(last)s)")
            % {"round": round_, "last": last}
        )
    else:
        trace.say(_("accepted at round %(round)s") % {"round": round_})
    trace.step("acceptance.passed", round=round_, share=share)
    return finish_unit(trace, "share", share, line)
