"""Structured editors: HR edits an indicator's scoring settings and a template's parts, lines and
raters as labelled fields and rows instead of JSON.

Each editor builds the very dict the JSON path takes (an indicator's ``config``, a template's
spec) and hands it to the same checks (indicators.scoring.validate_config, the services); the
errors come back onto the field or row they are about (:mod:`indicators.editors.errors`).
"""
