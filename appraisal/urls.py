from django.urls import path

from appraisal import views

urlpatterns = [
    path("periods/", views.period_list, name="periods"),
    path("periods/new/", views.period_create, name="period-create"),
    path("periods/<int:pk>/", views.period_detail, name="period-detail"),
    path("periods/<int:pk>/open/", views.period_open, name="period-open"),
    path("sheets/", views.sheet_list, name="sheets"),
    path("sheets/<int:pk>/", views.sheet_detail, name="sheet-detail"),
    path("sheets/lines/<int:pk>/", views.line_update, name="line-update"),
    path("sheets/lines/<int:pk>/rate/", views.line_rate, name="line-rate"),
    path("sheets/lines/<int:pk>/records/", views.line_record, name="line-record"),
]
