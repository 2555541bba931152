"""The home page ("My work") as cards by role, and the cards of the foundation itself.

Like the navigation, the cards are a registry each app fills in its ``AppConfig.ready()``
(``register_card``), so this floor needs to know neither the models nor the URL names of the apps
above it. A card is a template, a function that reads what the template shows from the tenant
context, the roles it is for and its place on the page; the home page shows every card one of the
user's roles is for, in order of position. A card's context function reads a fixed number of
queries whatever the organisation's size (tests/test_dashboards.py counts them), and its
template says what will appear when there is nothing yet (暂无…。).

Background jobs belong to this floor but their subjects do not: ``register_job_link`` lets an app
say where the page of a job of its kind is (a close → the period, an export → the pay run), so the
failed-jobs card can link to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from organizations import selectors
from organizations.context import TenantContext
from organizations.models import Department, Job, Person, ReviewGroup
from organizations.roles import Role

CardContext = Callable[[TenantContext], Mapping[str, Any]]
JobLink = Callable[[Job], str]

FAILED_JOBS_SHOWN = 5


@dataclass(frozen=True)
class HomeCard:
    """One card of the home page. ``name`` is unique; the card's element id is ``card-<name>``."""

    name: str
    template: str
    context: CardContext
    roles: frozenset[Role]
    # Where the card stands on the page, across apps and roles: the work waiting first.
    position: int = 0

    def is_for(self, tenant: TenantContext) -> bool:
        return not tenant.roles.isdisjoint(self.roles)


@dataclass(frozen=True)
class ShownCard:
    """A card with what its template shows, for the home page's ``{% include %}``."""

    card: HomeCard
    context: Mapping[str, Any]

    @property
    def template(self) -> str:
        return self.card.template


# Filled by each app in its AppConfig.ready() (register_card).
CARDS: list[HomeCard] = []
JOB_LINKS: dict[str, JobLink] = {}


def register_card(*cards: HomeCard) -> None:
    for card in cards:
        if any(known.name == card.name for known in CARDS):
            raise ValueError(f"home card {card.name!r} is registered twice")
        if not card.roles:
            raise ValueError(f"home card {card.name!r} is for no role")
        CARDS.append(card)
    CARDS.sort(key=lambda known: known.position)


def register_job_link(kind: str, link: JobLink) -> None:
    """Where the page of a job of ``kind`` is: ``link(job)`` returns a URL (no query: use subject_id)."""
    if kind in JOB_LINKS:
        raise ValueError(f"job link {kind!r} is registered twice")
    JOB_LINKS[kind] = link


def cards_for(tenant: TenantContext) -> list[HomeCard]:
    return [card for card in CARDS if card.is_for(tenant)]


def shown_cards(tenant: TenantContext) -> list[ShownCard]:
    """The user's cards, each with its context read now."""
    return [ShownCard(card, card.context(tenant)) for card in cards_for(tenant)]


# --- the foundation's own cards ---------------------------------------------------------------


@dataclass(frozen=True)
class HeadedDepartment:
    department: Department
    depth: int
    people: int


def setup_status(tenant: TenantContext) -> dict[str, Any]:
    """HR: how far the organisation's setup has got. Six queries."""
    active_departments = selectors.departments().filter(is_active=True)
    current_people = selectors.visible_people(tenant).exclude(status=Person.Status.LEFT)
    return {
        "departments": active_departments.count(),
        "teams": selectors.teams().filter(is_active=True).count(),
        "people": current_people.count(),
        "members": selectors.memberships().filter(is_active=True).count(),
        # People who cannot sign in cannot see their results or appeal: HR's next job after an import.
        "people_without_sign_in": current_people.filter(memberships__isnull=True).count(),
        "departments_without_head": list(active_departments.filter(headships__isnull=True)),
    }


def with_people_count(departments: QuerySet[Department]) -> list[Department]:
    """Each department with ``people_count``, its current (not departed) people, counted in the same query."""
    annotated = departments.annotate(people_count=Count("people", filter=~Q(people__status=Person.Status.LEFT)))
    return cast(list[Department], list(annotated))


def people_count(department: Department) -> int:
    return int(department.people_count)  # type: ignore[attr-defined]  # set by with_people_count


def headed_departments(tenant: TenantContext) -> dict[str, Any]:
    """A head: the departments they head, as a tree, with their people counted. One query."""
    rows = with_people_count(selectors.departments().filter(pk__in=tenant.headed_department_ids))
    return {"headed": [HeadedDepartment(dept, depth, people_count(dept))
                       for dept, depth in selectors.department_tree(rows)]}


def own_record(tenant: TenantContext) -> dict[str, Any]:
    """An employee: their own person record. One query."""
    person = None
    if tenant.person_id is not None:
        person = selectors.visible_people(tenant).filter(pk=tenant.person_id).first()
    return {"person": person}


def own_groups(tenant: TenantContext) -> dict[str, Any]:
    """A group member: the groups they sit in (visible_review_groups gives HR every group). One query."""
    groups: list[ReviewGroup] = list(selectors.visible_review_groups(tenant).filter(pk__in=tenant.group_ids))
    return {"groups": groups}


@dataclass(frozen=True)
class FailedJob:
    job: Job
    url: str


def _unresolved_failures() -> QuerySet[Job]:
    """Failed jobs no later job of the same kind, subject and parameters has replaced."""
    later = Job.objects.filter(kind=OuterRef("kind"), subject_type_id=OuterRef("subject_type_id"),
                               subject_id=OuterRef("subject_id"), params=OuterRef("params"), pk__gt=OuterRef("pk"))
    return Job.objects.filter(state=Job.State.FAILED).exclude(Exists(later))


def failed_jobs(tenant: TenantContext) -> dict[str, Any]:
    """HR: background jobs that failed and were not run again since, newest first, with their
    message and a link to their page. Two queries."""
    failures = _unresolved_failures()
    shown = list(failures.order_by("-created_at", "-pk")[:FAILED_JOBS_SHOWN])
    count = len(shown) if len(shown) < FAILED_JOBS_SHOWN else failures.count()
    return {"failed": [FailedJob(job, _link(job)) for job in shown], "count": count}


def _link(job: Job) -> str:
    link = JOB_LINKS.get(job.kind)
    return link(job) if link is not None else ""


HR = frozenset({Role.HR_ADMIN})

OWN_CARDS: Iterable[HomeCard] = (
    HomeCard("jobs", "organizations/_card_jobs.html", failed_jobs, HR, position=11),
    HomeCard("hr", "organizations/_card_hr.html", setup_status, HR, position=90),
    HomeCard("head", "organizations/_card_head.html", headed_departments,
             frozenset({Role.DEPARTMENT_HEAD}), position=60),
    HomeCard("employee", "organizations/_card_employee.html", own_record, frozenset({Role.EMPLOYEE}), position=70),
    HomeCard("groups", "organizations/_card_groups.html", own_groups, frozenset({Role.GROUP_MEMBER}), position=80),
)
