"""The pay policy editor: a policy's own fields and its components as labelled fields and rows (no
JSON for HR), with a live preview of one person's pay under the draft on a period with results.

* :mod:`payroll.policy_editor.specs` — each component kind's settings and rows, declared once;
* :mod:`payroll.policy_editor.draft` — one component as typed: from a form or a stored component,
  into the component the engine reads, an engine error back on its field;
* :mod:`payroll.policy_editor.editor` — the whole policy into the arguments of
  ``payroll.services.save_pay_policy`` (the one service the JSON page and the API call too);
* :mod:`payroll.policy_editor.names` — the names a formula may use, and the check of one formula;
* :mod:`payroll.policy_editor.views` — what the templates show (fields, rows, cells);
* :mod:`payroll.policy_editor.preview` — the draft's pay lines for one person, nothing saved.
"""
