"""The floor every app stands on: money and rounding, translation, bulk writes, config readers,
the formula language, Excel in and out, and the helpers views share.

Nothing here knows about tenants, people or periods, and nothing here imports a project app:
``core ← organizations ← indicators ← appraisal ← payroll`` (``tests/test_architecture.py``).
"""
