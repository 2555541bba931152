"""A client generated from the live schema works: openapi-python-client (pinned in
requirements-dev.txt) writes it from /api/schema/, every module of it imports, and a short flow
runs through it against the live server with an API token: list people, read a sheet and enter a
line's data with its version, get 409 for a stale version, move a period along, and export a pay
run, polling the job and downloading the file.

The generator is told the downloads' media types (xlsx, csv) are bytes (its content_type_overrides):
it reads any text/* answer as text, where these are files.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from django.test import Client
from django_scopes import scope

from appraisal import services as appraisal_services
from appraisal.models import Period, Sheet
from organizations import services
from organizations.models import Membership
from tests.closing import person_template
from tests.conftest import World, add_member
from tests.test_pay_api import paid_world

PACKAGE = "appraisal_api_client"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GENERATOR_CONFIG = {
    "package_name_override": PACKAGE,
    "project_name_override": "appraisal-api-client",
    "post_hooks": [],  # no ruff run over the generated code: the test imports it, nobody reads it
    "content_type_overrides": {XLSX: "application/octet-stream", "text/csv": "application/octet-stream"},
}
POLLS = 20  # a bounded number of polls of the export job, not a time limit


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory, django_db_setup: None,
              django_db_blocker: Any) -> Iterator[ModuleType]:
    """The client, generated once for this module's tests."""
    tmp_path = tmp_path_factory.mktemp("client")
    with django_db_blocker.unblock():  # the schema view reads no rows; the blocker is for a stray one
        response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    (tmp_path / "schema.json").write_text(json.dumps(response.json()))
    (tmp_path / "generator.json").write_text(json.dumps(GENERATOR_CONFIG))
    run = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(tmp_path / "schema.json"),
         "--meta", "none", "--output-path", str(tmp_path / PACKAGE), "--config", str(tmp_path / "generator.json")],
        capture_output=True, text=True, check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Warning" not in run.stdout + run.stderr, run.stdout + run.stderr  # no operation left out
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def api(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def test_every_module_of_the_generated_client_imports(generated: ModuleType) -> None:
    modules = [info.name for info in pkgutil.walk_packages(generated.__path__, PACKAGE + ".")]
    failed = {}
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as error:
            failed[name] = f"{type(error).__name__}: {error}"
    assert failed == {}
    assert len([name for name in modules if ".api." in name and name.count(".") == 3]) >= 80  # the operations


def _world(world: World, capture: Any) -> tuple[str, Period, Any]:
    """An HR and finance token, an open period whose sheets take data, and a computed pay run."""
    run = paid_world(world, capture)
    template = person_template(world.org)
    with scope(organization=world.org):
        period = appraisal_services.create_period(organization=world.org, acting_user=None, kind="monthly",
                                                  year=2025, number=12, templates=[template])
        appraisal_services.transition(period=period, to="open", acting_user=None)
        appraisal_services.generate_sheets(period=Period.objects.get(pk=period.pk))
    user = add_member(world, "client-hr", person=None, hr=True, finance=True)
    with scope(organization=world.org):
        _, key = services.create_api_token(membership=Membership.objects.get(user=user), name="client",
                                           acting_user=None)
    return key, period, run


def test_a_generated_client_runs_the_daily_flow(generated: ModuleType, live_server: Any, world_a: World,
                                                django_capture_on_commit_callbacks: Any) -> None:
    key, period, run = _world(world_a, django_capture_on_commit_callbacks)
    models = importlib.import_module(f"{PACKAGE}.models")
    client = generated.AuthenticatedClient(base_url=live_server.url, token=key, prefix="Token",
                                           raise_on_unexpected_status=True)

    people = api("people.people_list").sync(client=client)
    assert world_a.people["employee"].name in {person.name for person in people.results}

    with scope(organization=world_a.org):
        sheet_id = Sheet.objects.filter(period=period, person=world_a.people["employee"]).get().pk
    sheet = api("sheets.sheets_retrieve").sync(id=sheet_id, client=client)
    line = sheet.lines[0]
    patch = api("lines.lines_partial_update")
    saved = patch.sync_detailed(id=line.id, client=client,
                                body=models.PatchedLineUpdateRequest(version=line.version, actual="95"))
    assert saved.status_code == 200 and saved.parsed.version == line.version + 1
    assert saved.parsed.actual == "95.0000"
    stale = patch.sync_detailed(id=line.id, client=client,
                                body=models.PatchedLineUpdateRequest(version=line.version, actual="96"))
    assert stale.status_code == 409 and isinstance(stale.parsed, models.Detail) and stale.parsed.detail

    moved = api("periods.periods_transition_create").sync(
        id=period.pk, client=client, body=models.TransitionRequest(to=models.PeriodStateEnum.SCORING))
    assert moved.state == models.PeriodStateEnum.SCORING

    started = api("pay_runs.pay_runs_exports_create").sync_detailed(
        id=run.pk, client=client,
        body=models.ExportRequestRequest(kind=models.ExportRequestKindEnum.PAY_SHEET, format_=models.FormatEnum.XLSX))
    assert started.status_code == 202
    job = started.parsed
    for _poll in range(POLLS):
        if job.state in (models.JobStateEnum.DONE, models.JobStateEnum.FAILED):
            break
        job = api("pay_jobs.pay_jobs_retrieve").sync(id=job.id, client=client)
    assert job.state == models.JobStateEnum.DONE, job.message
    assert job.download
    downloaded = api("pay_jobs.pay_jobs_download_retrieve").sync_detailed(id=job.id, client=client)
    assert downloaded.status_code == 200
    assert downloaded.headers["content-type"] == XLSX
    assert downloaded.parsed.payload.read()[:2] == b"PK"  # an xlsx is a zip
