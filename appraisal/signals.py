"""Signals appraisal sends so that apps to its right (payroll) can react without appraisal knowing
them (ARCHITECTURE: appraisal knows nothing of pay).

``results_changed`` is sent after the transaction that wrote results commits:

* ``period``: the Period whose results changed;
* ``reason``: "closed", "calibrated", "appeal", or "reopened" (the closed period went back to
  calibration: its results are retired, and pay computed from them no longer stands);
* ``result_ids``: the results whose final score or grade changed (all of them on "closed", the
  retired ones on "reopened").
"""

from django.dispatch import Signal

results_changed = Signal()
