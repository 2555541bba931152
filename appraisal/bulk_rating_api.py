"""REST API mirror of the rater's grid: ``POST /api/periods/{period_pk}/ratings/bulk/`` gives the
caller's ratings on many lines of the period's sheets at once, through the same service as the
page (appraisal.services.rate_many): all or nothing.

House style (appraisal.api): the period comes from the selectors, so another organisation's
period is 404 before the body is read; the matrix's "sheet" change lets a role rate at all; a
period that no longer takes figures is 409 naming its state; a refused item is 400, the errors by
the item's position (``{"ratings": {"3": {"rating": ["…"]}}}``, the shape DRF gives an item its
serializer refuses), each message naming the subject and the line.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from appraisal import selectors, services
from appraisal.api import value_field
from appraisal.models import Period
from core.api import CONFLICT, ID_SCHEMA, MAX_ID, conflict
from indicators.models import RaterRole
from organizations.api import TenantViewSet
from organizations.models import Person

MAX_ITEMS = 5000  # a whole hospital's or plant's grid fits many times over


class BulkRatingItemSerializer(serializers.Serializer):
    line = serializers.IntegerField(min_value=1, help_text=gettext_lazy("A line scored by raters."))
    sheet = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None,
                                     help_text=gettext_lazy("Optional: the line's sheet, checked."))
    rating = serializers.CharField(max_length=50, required=False, allow_blank=True, default="",
                                   help_text=gettext_lazy("A label of the line's scale."))
    actual = value_field(required=False, allow_null=True, default=None,
                         help_text=gettext_lazy("A value, for lines scored from a value."))
    comment = serializers.CharField(required=False, allow_blank=True, allow_null=True, default=None,
                                    help_text=gettext_lazy("Left out: the comment already given stays."))
    version = serializers.IntegerField(
        required=False, allow_null=True, default=None,
        help_text=gettext_lazy("The version of your rating as read; a newer one refuses the item."))
    role = serializers.ChoiceField(
        choices=RaterRole.choices, required=False, allow_blank=True, default="",
        help_text=gettext_lazy("Only needed when you rate this sheet in more than one role."))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("rating") and attrs.get("actual") is None:
            raise serializers.ValidationError({"rating": _("Give a rating or a value.")})
        return attrs


class BulkRatingSerializer(serializers.Serializer):
    ratings = BulkRatingItemSerializer(many=True, allow_empty=False)

    def validate_ratings(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(items) > MAX_ITEMS:
            raise serializers.ValidationError(_("At most %(max)s ratings in one request.") % {"max": MAX_ITEMS})
        return items


class BulkSheetScoreSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    score = serializers.DecimalField(max_digits=9, decimal_places=2, allow_null=True)


class BulkRatedSerializer(serializers.Serializer):
    written = serializers.IntegerField(help_text=gettext_lazy("Ratings given or changed."))
    unchanged = serializers.IntegerField(help_text=gettext_lazy("Items equal to the rating already given."))
    sheets = BulkSheetScoreSerializer(many=True, help_text=gettext_lazy("Every rescored sheet with its score."))


class BulkRatingViewSet(TenantViewSet):
    """The caller's ratings on many lines of one period's sheets, in one request."""

    model = Period
    permission_resource = "sheet"

    def scoped_queryset(self) -> QuerySet[Period]:
        return selectors.visible_periods(self.tenant)

    @extend_schema(
        request=BulkRatingSerializer, responses={200: BulkRatedSerializer, 409: CONFLICT},
        parameters=[OpenApiParameter("period_pk", ID_SCHEMA, OpenApiParameter.PATH,
                                     description=gettext_lazy("The period's id."))],
        summary="Rate many lines of a period's sheets at once",
        description="Each item is one of your ratings, as POST /lines/{id}/rate/ takes it, on a line of a sheet of "
                    "this period that you rate. All or nothing: when any item is refused, none is saved and the "
                    "answer is 400 with the errors of each refused item under its position in the list "
                    "({\"ratings\": {\"3\": {\"rating\": [...]}}}), each naming the subject and the line. The "
                    "affected sheets are rescored as by single ratings. 404 for a period you do not see; 409 once "
                    "the period no longer takes figures.",
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request, period_pk: str | None = None) -> Response:
        period = self._period(period_pk)  # 404 before the body is read
        data = BulkRatingSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        items = data.validated_data["ratings"]
        person = Person.objects.filter(pk=self.tenant.person_id).first() if self.tenant.person_id else None
        if person is None:
            raise exceptions.ValidationError({"ratings": [_("You rate no sheet in this period.")]})
        entries = [services.RatingEntry(line_id=item["line"], sheet_id=item["sheet"], rating=item["rating"],
                                        actual=item["actual"], comment=item["comment"],
                                        expected_version=item["version"], role=item["role"]) for item in items]
        try:
            result = services.rate_many(rater_person=person, period=period, entries=entries, acting_user=self.actor)
        except services.IllegalTransition as refused:
            return conflict(refused)
        except services.RatingsRefused as refused:
            # The shape DRF gives an item its serializer refused: {"ratings": {"3": {"rating": [...]}}}.
            errors: dict[str, dict[str, list[str]]] = {}
            for problem in refused.problems:
                errors.setdefault(str(problem.index), {}).setdefault(problem.field, []).append(problem.message)
            raise exceptions.ValidationError({"ratings": errors}) from None
        sheets = [{"id": pk, "score": score.score} for pk, score in sorted(result.scores.items())]
        return Response(BulkRatedSerializer({"written": result.written, "unchanged": result.unchanged,
                                             "sheets": sheets}).data)

    def _period(self, period_pk: str | None) -> Period:
        try:
            pk = int(period_pk or "")
        except ValueError:
            raise exceptions.NotFound() from None
        if not 1 <= pk <= MAX_ID:  # past bigint the database would refuse the query itself
            raise exceptions.NotFound()
        period = self.get_queryset().filter(pk=pk).first()
        if period is None:
            raise exceptions.NotFound()
        return period
