from django.contrib.auth import views as auth_views
from django.urls import include, path

from organizations import calendar_views, import_views, people_views, setup_views, views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="registration/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("switch-organization/", views.switch_organization, name="switch-organization"),
    path("", views.home, name="home"),
    path("departments/", views.departments, name="departments"),
    path("department-types/", setup_views.department_types, name="department-types"),
    path("department-types/new/", setup_views.department_type_new, name="department-type-new"),
    path("department-types/<int:pk>/edit/", setup_views.department_type_edit, name="department-type-edit"),
    path("department-types/<int:pk>/delete/", setup_views.department_type_delete, name="department-type-delete"),
    path("teams/", setup_views.teams, name="teams"),
    path("teams/new/", setup_views.team_new, name="team-new"),
    path("teams/<int:pk>/edit/", setup_views.team_edit, name="team-edit"),
    path("review-groups/", setup_views.review_groups, name="review-groups"),
    path("review-groups/new/", setup_views.review_group_new, name="review-group-new"),
    path("review-groups/<int:pk>/edit/", setup_views.review_group_edit, name="review-group-edit"),
    path("people/", views.people, name="people"),
    path("people/new/", people_views.person_new, name="person-new"),
    path("people/<int:pk>/", views.person_detail, name="person-detail"),
    path("people/<int:pk>/edit/", people_views.person_edit, name="person-edit"),
    path("memberships/", views.memberships, name="memberships"),
    path("memberships/new/", people_views.member_new, name="membership-new"),
    path("memberships/<int:pk>/edit/", people_views.member_edit, name="membership-edit"),
    path("calendar/", calendar_views.calendar_page, name="calendar"),
    path("calendar/fill/", calendar_views.calendar_fill, name="calendar-fill"),
    path("calendar/days/new/", calendar_views.calendar_day_new, name="calendar-day-new"),
    path("calendar/days/<int:pk>/edit/", calendar_views.calendar_day_edit, name="calendar-day-edit"),
    path("calendar/days/<int:pk>/delete/", calendar_views.calendar_day_delete, name="calendar-day-delete"),
    path("import/", import_views.import_page, name="import"),
    path("import/template.xlsx", import_views.import_template, name="import-template"),
    path("", include("organizations.notifications.urls")),
]
