"""What the appraisal app adds to the shared places below it: its permission resources, its menu
entries and its home cards (with where a close job's page is). Called once from AppraisalConfig.ready()."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from appraisal import dashboard as cards
from appraisal import notices, preview_lines, template_preview_views
from indicators.editors.panels import register_panel
from indicators.editors.preview import register_sample_lines
from organizations import dashboard, navigation, permissions
from organizations.dashboard import HomeCard
from organizations.models import Job
from organizations.navigation import NavItem
from organizations.permissions import EMP, EVERYONE, FIN, GROUP, HEAD, HR


def register() -> None:
    permissions.register_resources({
        # Periods: everyone reads, HR runs them.
        "period": {"view": EVERYONE, "change": frozenset({HR})},
        # Score sheets and their lines: rows filtered by appraisal.selectors.visible_sheets. Who may change
        # what is decided per object: data by HR and the subject's head, ratings by the sheet's own raters.
        "sheet": {"view": frozenset({HR, FIN, HEAD, EMP, GROUP}), "change": frozenset({HR, HEAD, EMP, GROUP})},
        # Grading policies (scale, quotas, rules) are known to everyone they grade; HR keeps them.
        "grading_policy": {"view": EVERYONE, "change": frozenset({HR})},
        # Results of closed periods: rows filtered by appraisal.selectors.visible_results (an employee their
        # own once published, a head their departments'). HR calibrates; an employee acknowledges their own.
        "result": {"view": frozenset({HR, FIN, HEAD, EMP}), "change": frozenset({HR, EMP})},
        # Appeals: rows filtered by appraisal.selectors.visible_appeals. The employee files, the supervisor
        # forwards, HR or the appeal group decides (per object: appraisal.appeals).
        "appeal": {"view": frozenset({HR, HEAD, EMP, GROUP}), "change": frozenset({HR, HEAD, EMP, GROUP})},
    })
    navigation.register(
        # A set-up page (issue #17): in the menu of those who change policies; the list stays open to readers.
        NavItem(_("Grading policies"), "grading-policies", "grading_policy", "change", position=55),
        NavItem(_("Periods"), "periods", "period", position=60),
        NavItem(_("Sheets"), "sheets", "sheet", position=70),
        NavItem(_("My results"), "my-results", "result", position=80),
        NavItem(_("Appeals"), "appeals", "appeal", position=90),
    )
    register_cards()
    notices.register()  # its events for organizations.notifications
    register_sample_lines(preview_lines.SOURCE)  # the indicator editor's live preview
    register_panel(template_preview_views.PANEL)  # the template editor's live preview


def register_cards() -> None:
    dashboard.register_card(
        HomeCard("periods", "appraisal/_card_periods.html", cards.hr_periods, frozenset({HR}), position=10),
        HomeCard("head-tasks", "appraisal/_card_head_tasks.html", cards.head_tasks, frozenset({HEAD}), position=20),
        HomeCard("my-results", "appraisal/_card_my_results.html", cards.own_results, frozenset({EMP}), position=40),
        HomeCard("appeals-to-decide", "appraisal/_card_appeals_to_decide.html", cards.appeals_to_decide,
                 frozenset({GROUP}), position=35),
    )
    dashboard.register_job_link(Job.Kind.CLOSE_PERIOD, lambda job: reverse("period-detail", args=[job.subject_id]))
