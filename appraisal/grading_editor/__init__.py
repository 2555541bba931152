"""The grading policy editor: the scale, the quotas, the population, the calibration cap, the
grades of the special statuses and the rules over consecutive periods as labelled fields and rows
(no JSON for HR), with a preview of the draft on a closed period's scores.

* :mod:`appraisal.grading_editor.forms` — the policy's own fields and the three row formsets;
* :mod:`appraisal.grading_editor.editor` — the rows into the very arguments
  ``appraisal.policies.save_grading_policy`` takes, a stored policy back into rows, and the
  problems of ``appraisal.policy_checks`` put back on the field or row they are about;
* :mod:`appraisal.grading_editor.preview` — the draft applied to a closed period's scores.

The JSON page (the "advanced" tab) calls the same service, so both paths go through one validator.
"""
