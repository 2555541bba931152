from django.urls import path

from appraisal import result_views, views

urlpatterns = [
    path("periods/", views.period_list, name="periods"),
    path("periods/new/", views.period_create, name="period-create"),
    path("periods/<int:pk>/", views.period_detail, name="period-detail"),
    path("periods/<int:pk>/open/", views.period_open, name="period-open"),
    path("periods/<int:pk>/close/", result_views.period_close, name="period-close"),
    path("periods/<int:pk>/close/progress/", result_views.period_close_progress, name="period-close-progress"),
    path("periods/<int:pk>/grading-policy/", result_views.period_grading_policy, name="period-grading-policy"),
    path("periods/<int:pk>/publish/", result_views.period_publish, name="period-publish"),
    path("results/mine/", result_views.my_results, name="my-results"),
    path("results/<int:pk>/calibrate/", result_views.result_calibrate, name="result-calibrate"),
    path("results/<int:pk>/appeal/", result_views.result_appeal, name="result-appeal"),
    path("results/<int:pk>/acknowledge/", result_views.result_acknowledge, name="result-acknowledge"),
    path("appeals/", result_views.appeal_list, name="appeals"),
    path("appeals/<int:pk>/forward/", result_views.appeal_forward, name="appeal-forward"),
    path("appeals/<int:pk>/decide/", result_views.appeal_decide, name="appeal-decide"),
    path("appeals/<int:pk>/attachment/", result_views.appeal_attachment, name="appeal-attachment"),
    path("sheets/", views.sheet_list, name="sheets"),
    path("sheets/<int:pk>/", views.sheet_detail, name="sheet-detail"),
    path("sheets/lines/<int:pk>/", views.line_update, name="line-update"),
    path("sheets/lines/<int:pk>/rate/", views.line_rate, name="line-rate"),
    path("sheets/lines/<int:pk>/records/", views.line_record, name="line-record"),
]
