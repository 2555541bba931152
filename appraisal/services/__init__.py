"""Writes for periods and score sheets, a module per job:

* :mod:`appraisal.services.periods` — create a period, choose its grading policy, move it along its
  states, open it;
* :mod:`appraisal.services.statuses` — a sheet's special status (exempt, long leave, refused);
* :mod:`appraisal.services.assignment` — which of a period's templates applies to whom (ties refuse the open);
* :mod:`appraisal.services.sheets` — generate an open period's sheets (and the task that does it);
* :mod:`appraisal.services.entry` — enter actuals and ratings, record deductions and acceptance rounds, add
  work items to one sheet;
* :mod:`appraisal.services.bulk_rating` — one rater's ratings on many lines and sheets at once, all or
  nothing;
* :mod:`appraisal.services.scoring` — score a line and a sheet in memory;
* :mod:`appraisal.services.rescoring` — rescore lines, sheets and a period's stale sheets, and save
  what changed;
* :mod:`appraisal.services.rollup` — periods made of weighted child periods;
* :mod:`appraisal.services.closing` — close a period (and its task; incomplete sheets refuse it
  unless HR closes anyway), regrade, calibrate, send a closed period back to calibration;
* :mod:`appraisal.services.populations` — grade one population: forcing rules (set a grade, not
  assessed), the forced distribution, the other rules; :mod:`appraisal.services.facts` — the facts
  of the sheets the rules read;
* :mod:`appraisal.services.outcomes` — the rules' outcomes that change a person, confirmed or
  declined by HR once the period is final;
* :mod:`appraisal.services.window` — publish, finalise, and the periodic tick (and their tasks);
* :mod:`appraisal.services.common` — what they share (IllegalTransition, the entry guard, the sheet
  lock).

Each module imports only those below it (common ← assignment ← sheets ← periods; scoring ← rescoring ← entry
← bulk_rating; periods, rescoring, facts ← populations ← closing ← window ← outcomes), never this package, so there
is no import circle. The names of the former single module are re-exported here: ``services.update_line(...)`` and
``from appraisal.services import IllegalTransition`` keep working. The close and the review window
are imported from their modules (``from appraisal.services import closing, window``).
"""

from __future__ import annotations

from appraisal.services.assignment import AssignmentConflict
from appraisal.services.bulk_rating import BulkRated, EntryProblem, RatingEntry, RatingsRefused, rate_many
from appraisal.services.common import ZERO, IllegalTransition, lock_sheet, require_entries
from appraisal.services.entry import (
    LINE_FIELDS,
    LineConflict,
    add_sheet_line,
    rate_line,
    record_acceptance,
    record_deduction,
    remove_sheet_line,
    update_line,
)
from appraisal.services.periods import create_period, move, open_period, set_grading_policy, transition
from appraisal.services.rescoring import (
    RESCORE_BATCH,
    RescoreCount,
    rescore_line,
    rescore_period,
    rescore_sheet,
    rescore_sheets,
)
from appraisal.services.rollup import RolledUp, RollupRefused, rollup_scores, set_rollup, set_rollup_share
from appraisal.services.scoring import (
    LineRow,
    RaterRow,
    RatingRow,
    SheetScore,
    baseline_from_inputs,
    combine_ratings,
    line_input,
    score_line,
    score_sheet,
)
from appraisal.services.sheets import ANALYZE_AFTER, generate_sheets
from appraisal.services.statuses import StatusRefused, set_special_status

__all__ = [
    "ANALYZE_AFTER",
    "LINE_FIELDS",
    "RESCORE_BATCH",
    "ZERO",
    "AssignmentConflict",
    "BulkRated",
    "EntryProblem",
    "IllegalTransition",
    "LineConflict",
    "LineRow",
    "RaterRow",
    "RatingEntry",
    "RatingRow",
    "RatingsRefused",
    "RescoreCount",
    "RolledUp",
    "RollupRefused",
    "SheetScore",
    "StatusRefused",
    "add_sheet_line",
    "baseline_from_inputs",
    "combine_ratings",
    "create_period",
    "generate_sheets",
    "line_input",
    "lock_sheet",
    "move",
    "open_period",
    "rate_line",
    "rate_many",
    "record_acceptance",
    "record_deduction",
    "remove_sheet_line",
    "require_entries",
    "rescore_line",
    "rescore_period",
    "rescore_sheet",
    "rescore_sheets",
    "rollup_scores",
    "score_line",
    "score_sheet",
    "set_grading_policy",
    "set_rollup",
    "set_rollup_share",
    "set_special_status",
    "transition",
    "update_line",
]
