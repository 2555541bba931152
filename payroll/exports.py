"""Finance exports of a pay run: the pay sheet, the delta sheet and the bank-transfer list, as
.xlsx (core.xlsx, streamed; ~15× faster than openpyxl's write_only mode, see there) or .csv
(UTF-8 with a BOM, so Excel reads the Chinese).

House style (pretix): an exporter yields rows; a writer turns rows into a file. Rows are read
from the database in chunks (``iterator``), so memory stays flat whatever the head count, and the
subtotals are added up while streaming: each department's subtotal is the sum of its rows and the
grand total the sum of the subtotals, which the tests check against the database.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any, Literal

from celery import shared_task
from django.core.files import File
from django.utils import timezone
from django.utils.translation import gettext as _

from core import xlsx
from core.replica import replica_reads
from organizations.jobs import beat, restart_job, running, start_job
from organizations.models import Department, Job, User
from organizations.tasks import TenantTask, enqueue
from payroll.models import PayRun, PaySlip
from payroll.services import delta

ZERO = Decimal("0.00")
MONEY_FORMAT = xlsx.MONEY_FORMAT
CHUNK = 2000

Style = Literal["row", "subtotal", "total"]
KINDS = ("pay_sheet", "delta", "bank")
FORMATS = ("xlsx", "csv")


@dataclass(frozen=True)
class Column:
    header: str
    money: bool = False
    width: int = 12


@dataclass(frozen=True)
class Export:
    title: str
    columns: list[Column]
    rows: Iterator[tuple[Style, list[Any]]]


def _departments() -> dict[int, tuple[str, str]]:
    return {pk: (code, name) for pk, code, name in Department.objects.values_list("pk", "code", "name")}


def pay_sheet(run: PayRun) -> Export:
    """One row per person (a column per paid component), a subtotal per department, a grand total."""
    codes = [code for code, _name in run.components]
    columns = [Column(_("Employee no."), width=12), Column(_("Name"), width=10), Column(_("Department"), width=16),
               Column(_("Grade"), width=6)]
    columns += [Column(name, money=True, width=12) for _code, name in run.components]
    columns.append(Column(_("Total"), money=True, width=14))
    departments = _departments()

    def rows() -> Iterator[tuple[Style, list[Any]]]:
        grand = [ZERO] * (len(codes) + 1)
        current: int | None = None
        sub = [ZERO] * (len(codes) + 1)
        slips = PaySlip.objects.filter(run=run).order_by("department__code", "person__employee_no").values_list(
            "department_id", "person__employee_no", "person__name", "grade", "total", "amounts")
        for department_id, number, name, grade, total, paid in slips.iterator(chunk_size=CHUNK):
            if current is not None and department_id != current:
                yield "subtotal", ["", _("%(department)s subtotal") % {"department": departments[current][1]}, "",
                                   "", *sub]
                sub = [ZERO] * (len(codes) + 1)
            current = department_id
            values = [Decimal(paid[code]) if code in paid else ZERO for code in codes] + [total]
            sub = [a + b for a, b in zip(sub, values, strict=True)]
            grand = [a + b for a, b in zip(grand, values, strict=True)]
            yield "row", [number, name, departments[department_id][1], grade, *values]
        if current is not None:
            yield "subtotal", ["", _("%(department)s subtotal") % {"department": departments[current][1]}, "", "",
                               *sub]
        yield "total", ["", _("Grand total"), "", "", *grand]

    return Export(_("Pay sheet %(period)s v%(version)s") % {"period": run.period.code, "version": run.version},
                  columns, rows())


def delta_sheet(run: PayRun) -> Export:
    """Who is paid differently from the previous version, by component, with the difference to pay."""
    codes = [code for code, _name in run.components]
    columns = [Column(_("Employee no.")), Column(_("Name")), Column(_("Department"), width=16)]
    columns += [Column(name, money=True) for _code, name in run.components]
    columns += [Column(_("Previous total"), money=True, width=14), Column(_("New total"), money=True, width=14),
                Column(_("Difference"), money=True, width=14)]
    departments = _departments()

    def rows() -> Iterator[tuple[Style, list[Any]]]:
        from organizations.models import Person

        changes = delta(run=run)
        people = {pk: (number, name) for pk, number, name in Person.objects.filter(
            pk__in=[c.person_id for c in changes]).values_list("pk", "employee_no", "name")}
        grand = [ZERO] * (len(codes) + 3)
        for change in changes:
            values = [change.change(code) for code in codes] + [change.old_total, change.new_total,
                                                                  change.difference]
            grand = [a + b for a, b in zip(grand, values, strict=True)]
            number, name = people[change.person_id]
            yield "row", [number, name, departments[change.department_id][1], *values]
        yield "total", ["", _("Grand total"), "", *grand]

    return Export(_("Delta %(period)s v%(version)s") % {"period": run.period.code, "version": run.version},
                  columns, rows())


def bank_list(run: PayRun) -> Export:
    """The transfer list: account and amount for everyone paid more than nothing."""
    columns = [Column(_("Employee no.")), Column(_("Name")), Column(_("Bank account"), width=24),
               Column(_("Amount"), money=True, width=14)]

    def rows() -> Iterator[tuple[Style, list[Any]]]:
        total = ZERO
        slips = PaySlip.objects.filter(run=run, total__gt=0).order_by("person__employee_no").values_list(
            "person__employee_no", "person__name", "person__bank_account", "total")
        for number, name, account, amount in slips.iterator(chunk_size=CHUNK):
            total += amount
            yield "row", [number, name, account, amount]
        yield "total", ["", _("Grand total"), "", total]

    return Export(_("Bank transfers %(period)s v%(version)s") % {"period": run.period.code,
                                                                 "version": run.version}, columns, rows())


EXPORTERS: dict[str, Callable[[PayRun], Export]] = {"pay_sheet": pay_sheet, "delta": delta_sheet,
                                                    "bank": bank_list}


def write_xlsx(export: Export, target: IO[bytes], progress: Callable[[int], None] | None = None) -> int:
    """Streams ``export`` into an .xlsx: rows go to the file as they come, the header row is bold and
    frozen, money columns are formatted to the fen, subtotal and total rows are bold on grey.
    Returns the rows written, the header not counted; ``progress`` gets that count every CHUNK rows."""
    count = 0
    with xlsx.SheetWriter(target, title=export.title, columns=export.columns) as sheet:
        for style, values in export.rows:
            sheet.append(values, style)
            count += 1
            if progress is not None and count % CHUNK == 0:
                progress(count)
    return count


def write_csv(export: Export, target: IO[str], progress: Callable[[int], None] | None = None) -> int:
    target.write("\ufeff")
    writer = csv.writer(target)
    writer.writerow([c.header for c in export.columns])
    count = 0
    for _style, values in export.rows:
        writer.writerow([format(v, "f") if isinstance(v, Decimal) else v for v in values])
        count += 1
        if progress is not None and count % CHUNK == 0:
            progress(count)
    return count


def filename(run: PayRun, kind: str, fmt: str) -> str:
    return f"{kind}-{run.period.code}-v{run.version}.{fmt}"


# --- exports ------------------------------------------------------------------------------------

EXPORT_JOB = Job.Kind.PAY_EXPORT


@shared_task(base=TenantTask, bind=True, name="payroll.export", acks_late=True)
def export_task(self: TenantTask, *, organization_id: int, job_id: int) -> str:
    """Writes the export a job names to its file, moving the job's progress as rows stream out."""
    return run_export(job=Job.objects.get(pk=job_id))


def start_export(*, run: PayRun, kind: str, fmt: str, acting_user: User | None) -> Job:
    """Records an export job and sends the task after commit; the page polls the job and offers
    the file when it is done. The same export asked twice while it runs is one job."""
    if kind not in KINDS or fmt not in FORMATS:
        raise ValueError(_("Unknown export %(kind)s.%(fmt)s.") % {"kind": kind, "fmt": fmt})
    return start_job(subject=run, kind=EXPORT_JOB, params={"export": kind, "format": fmt}, total=run.people,
                     acting_user=acting_user,
                     send=lambda job: enqueue(export_task, organization_id=run.organization_id, job_id=job.pk))


def restart_export(*, job: Job, acting_user: User | None) -> Job:
    """Starts a dead or failed export again (organizations.jobs.restart_job): a new job writes the
    file from the start. NotRestartable when the export is alive or done."""
    def start(dead: Job) -> Job:
        run = PayRun.objects.get(pk=dead.subject_id)
        return start_export(run=run, kind=dead.params["export"], fmt=dead.params["format"], acting_user=acting_user)

    return restart_job(job=job, start=start)


def run_export(*, job: Job) -> str:
    current = Job.objects.get(pk=job.pk)
    if current.finished:
        return str(current.file.name)  # delivered again after it finished, or retired as dead and restarted
    kind, fmt = job.params["export"], job.params["format"]
    run = PayRun.objects.select_related("period").get(pk=job.subject_id)

    def progress(done: int) -> None:
        beat(job.pk, done=done)

    # The rows from the read replica once it shows this job (and so the run it exports), else the primary.
    with running(job), replica_reads(caught_up=Job.objects.filter(pk=job.pk)):  # beats while it writes
        export = EXPORTERS[kind](run)
        with tempfile.TemporaryFile() as handle:
            if fmt == "xlsx":
                rows = write_xlsx(export, handle, progress)
            else:
                text = io.TextIOWrapper(handle, encoding="utf-8", newline="", write_through=True)
                rows = write_csv(export, text, progress)
                text.detach()
            handle.seek(0)
            job.file.save(filename(run, kind, fmt), File(handle), save=False)
    Job.objects.filter(pk=job.pk).update(state=Job.State.DONE, done=rows, file=job.file.name,
                                         finished_at=timezone.now())
    return str(job.file.name)
