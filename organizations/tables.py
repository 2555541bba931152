"""Tables for the browser lists (django-tables2). Column headers come from the models' verbose names."""

from __future__ import annotations

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from organizations.models import Person


class PersonTable(tables.Table):
    employee_no = tables.Column(linkify=("person-detail", {"pk": tables.A("pk")}))
    # "Name", not the model's "name": for a person the column reads 姓名, not 名称.
    name = tables.Column(verbose_name=_("Name"), linkify=("person-detail", {"pk": tables.A("pk")}))
    department = tables.Column(order_by=("department__sort_order", "department__code"))
    team = tables.Column(order_by=("team__code",))
    position = tables.Column()
    status = tables.Column()

    class Meta:
        model = Person
        fields = ("employee_no", "name", "department", "team", "position", "status")
        attrs = {"class": "table table-hover align-middle mb-0"}
        empty_text = _("No people match.")
        # Stable row order so paging never shows a person twice or skips one.
        order_by = ("employee_no",)

    def render_status(self, value: str, record: Person) -> SafeString:
        # A badge, so someone on long leave or gone stands out in a long list.
        colour = STATUS_BADGES.get(record.status, "secondary")
        return format_html('<span class="badge text-bg-{}">{}</span>', colour, record.get_status_display())


STATUS_BADGES: dict[str, str] = {
    Person.Status.ACTIVE: "success",
    Person.Status.ON_LEAVE: "warning",
    Person.Status.LEFT: "secondary",
}
