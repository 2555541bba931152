"""What tests/test_backup.py runs in a subprocess against a database of its own (DATABASE_URL):
``seed`` fills it with the demo plant and a closed, published and paid period (tests/richworld.py's
enrichment: a confirmed pay run, a later version after an upheld appeal, exports); ``fingerprint``
prints, as JSON, what a restore must give back exactly: each pay run's pay sheet (the rows of
``payroll.exports.pay_sheet``, subtotals and grand total included) by digest, and the number of
rows of every table; ``triggers`` checks that a plain UPDATE of a line still marks its sheet stale
(the triggers of migration appraisal/0006 came back with the restore).

    DATABASE_URL=postgres://… python -c "import tests.backup_seed as s; s.main('seed')"
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import tempfile
from typing import Any


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def seed() -> None:
    from django.core.management import call_command
    from django.db import transaction
    from django.test import override_settings

    from organizations.models import Organization
    from tests.richworld import committed, enrich

    # The exports' files go to a scratch folder, not the checkout's media/.
    with tempfile.TemporaryDirectory() as media, override_settings(MEDIA_ROOT=media), transaction.atomic():
        with committed():
            call_command("load_demo", stdout=io.StringIO())
        enrich(Organization.objects.get(slug="demo-plant"))


def fingerprint() -> dict[str, Any]:
    from django.apps import apps
    from django.utils import translation
    from django_scopes import scope, scopes_disabled

    from organizations.models import Organization
    from payroll import exports
    from payroll.models import PayRun

    plant = Organization.objects.get(slug="demo-plant")
    runs = []
    with scope(organization=plant), translation.override("zh-hans"):
        for run in PayRun.objects.select_related("period").order_by("period__code", "version"):
            sheet = exports.pay_sheet(run)
            rows = [[str(column.header) for column in sheet.columns]]
            rows += [[style, *(str(value) for value in values)] for style, values in sheet.rows]
            runs.append({"period": run.period.code, "version": run.version, "state": run.state,
                         "total": str(run.total), "rows": len(rows) - 1,
                         "digest": hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()})
    with scopes_disabled():
        counts = {model._meta.label: model._base_manager.count() for model in apps.get_models()}
    return {"runs": runs, "counts": counts}


def triggers() -> dict[str, bool]:
    """Writes a line's actual with a plain UPDATE (no service, as SQL or the admin would) inside a
    transaction it rolls back, and says whether the sheet's triggers marked it stale."""
    from django.db import transaction
    from django.db.models import F
    from django_scopes import scopes_disabled

    from appraisal.models import Sheet, SheetLine

    with scopes_disabled(), transaction.atomic():
        line = SheetLine.objects.filter(sheet__period__code="2025-10", actual__isnull=False).order_by("pk").first()
        assert line is not None, "the seeded period has no line with an actual"
        fresh = not Sheet.objects.get(pk=line.sheet_id).is_stale
        SheetLine.objects.filter(pk=line.pk).update(actual=F("actual") + 1)
        stale = Sheet.objects.get(pk=line.sheet_id).is_stale
        transaction.set_rollback(True)
    return {"stale_after_write": fresh and stale}


def main(command: str) -> None:
    _setup()
    if command == "seed":
        seed()
    elif command == "fingerprint":
        json.dump(fingerprint(), sys.stdout, ensure_ascii=False, sort_keys=True)
    elif command == "triggers":
        json.dump(triggers(), sys.stdout)
    else:
        raise SystemExit(f"unknown command {command!r}")
