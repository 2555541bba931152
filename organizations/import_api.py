"""API for the Excel import: a dry run and an all-or-nothing apply, one multipart upload each.

Both answer with the same ImportReport shape, so a client handles one body: 200 for a dry run (valid
or not) and for a done import; 400 when the file cannot be read, no file was sent, or (apply) the
file has problems, in which case nothing was written.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import readable_data
from organizations import importing
from organizations.context import TenantContext


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="An .xlsx workbook with a sheet 部门 and/or a sheet 人员.")


class ImportIssueSerializer(serializers.Serializer):
    sheet = serializers.CharField(allow_blank=True, help_text="部门 or 人员; empty for a problem with the whole file.")
    row = serializers.IntegerField(allow_null=True, help_text="The row number Excel shows (the header is row 1).")
    column = serializers.CharField(allow_blank=True, help_text="The column header, in Chinese.")
    value = serializers.CharField(allow_blank=True, help_text="The offending cell, as text.")
    code = serializers.CharField(help_text="A stable code for programs, e.g. required, bad_date, unknown_department.")
    message = serializers.CharField(help_text="What is wrong, in the request's language.")


class ImportSummarySerializer(serializers.Serializer):
    departments_created = serializers.IntegerField()
    departments_updated = serializers.IntegerField()
    departments_unchanged = serializers.IntegerField()
    people_created = serializers.IntegerField()
    people_updated = serializers.IntegerField()
    people_unchanged = serializers.IntegerField()


class ImportReportSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    # DRF's metaclass moves declared fields off the class, so Serializer.errors is not shadowed.
    errors = ImportIssueSerializer(many=True)  # type: ignore[assignment]
    summary = ImportSummarySerializer(help_text="What the good rows do (dry run) or did (apply).")


def _report(*, errors: list[importing.ImportIssue], summary: importing.ImportSummary, status: int) -> Response:
    body = ImportReportSerializer({
        "valid": not errors,
        "errors": [error.as_dict() for error in errors],
        "summary": summary.as_dict(),
    }).data
    return Response(body, status=status)


class _ImportView(APIView):
    permission_resource = "import"
    parser_classes = [MultiPartParser]

    def _tenant(self, request: Request) -> TenantContext:
        # HasMatrixPermission has already refused a request without a tenant.
        tenant: TenantContext = request._request.tenant  # type: ignore[attr-defined]
        return tenant

    def _parse(self, request: Request) -> importing.ParsedWorkbook:
        upload = ImportUploadSerializer(data=readable_data(request))
        if not upload.is_valid():
            raise importing.ImportRejected([importing.ImportIssue(
                sheet="", row=None, column="", value="", code="no_file",
                message=_("Attach the .xlsx file in the form field “file”."),
            )])
        return importing.parse_workbook(upload.validated_data["file"])

    def run(self, request: Request) -> Response:
        raise NotImplementedError

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return self.run(request)
        except importing.ImportRejected as rejected:
            return _report(errors=rejected.errors, summary=rejected.summary, status=400)


SCHEMA = {
    "request": {"multipart/form-data": ImportUploadSerializer},
    "responses": {200: ImportReportSerializer, 400: ImportReportSerializer},
    "tags": ["imports"],
}


class ImportDryRunView(_ImportView):
    @extend_schema(
        operation_id="imports_dry_run",
        summary="Check an Excel import without writing",
        description="Reads the workbook and reports every problem with its sheet, row and column. Writes nothing.",
        **SCHEMA,  # type: ignore[arg-type]
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)

    def run(self, request: Request) -> Response:
        parsed = self._parse(request)
        plan = importing.validate_import(organization=self._tenant(request).organization, parsed=parsed)
        return _report(errors=plan.errors, summary=plan.summary, status=200)


class ImportApplyView(_ImportView):
    @extend_schema(
        operation_id="imports_apply",
        summary="Import an Excel workbook, all or nothing",
        description="Creates and updates departments and people in one transaction. With any problem nothing is "
                    "written and the answer is 400 with every problem.",
        **SCHEMA,  # type: ignore[arg-type]
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)

    def run(self, request: Request) -> Response:
        parsed = self._parse(request)
        result = importing.apply_import(
            organization=self._tenant(request).organization, parsed=parsed, acting_user=request.user,  # type: ignore[arg-type]
        )
        return _report(errors=[], summary=result.summary, status=200)
