from django.contrib.auth import views as auth_views
from django.urls import path

from organizations import import_views, views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="registration/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("switch-organization/", views.switch_organization, name="switch-organization"),
    path("", views.home, name="home"),
    path("departments/", views.departments, name="departments"),
    path("people/", views.people, name="people"),
    path("people/<int:pk>/", views.person_detail, name="person-detail"),
    path("memberships/", views.memberships, name="memberships"),
    path("import/", import_views.import_page, name="import"),
    path("import/template.xlsx", import_views.import_template, name="import-template"),
]
