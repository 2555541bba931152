from django.urls import path

from appraisal import appeal_views, calibration_views, period_views, result_views, views

urlpatterns = [
    path("periods/", period_views.period_list, name="periods"),
    path("periods/new/", period_views.period_create, name="period-create"),
    path("periods/<int:pk>/", period_views.period_detail, name="period-detail"),
    path("periods/<int:pk>/open/", period_views.period_open, name="period-open"),
    path("periods/<int:pk>/close/", period_views.period_close, name="period-close"),
    path("periods/<int:pk>/close/progress/", period_views.period_close_progress, name="period-close-progress"),
    path("periods/<int:pk>/grading-policy/", period_views.period_grading_policy, name="period-grading-policy"),
    path("periods/<int:pk>/publish/", period_views.period_publish, name="period-publish"),
    path("periods/<int:pk>/transition/", period_views.period_transition, name="period-transition"),
    path("periods/<int:pk>/reopen/", period_views.period_reopen, name="period-reopen"),
    path("periods/<int:pk>/finalise/", period_views.period_finalise, name="period-finalise"),
    path("periods/<int:pk>/confirm/<slug:step>/", period_views.period_confirm, name="period-confirm"),
    path("periods/<int:pk>/calibration/", calibration_views.period_calibration, name="period-calibration"),
    path("results/mine/", appeal_views.my_results, name="my-results"),
    path("results/<int:pk>/calibration/", calibration_views.result_calibration, name="result-calibration"),
    path("results/<int:pk>/calibrate/", result_views.result_calibrate, name="result-calibrate"),
    path("results/<int:pk>/appeal/", appeal_views.result_appeal, name="result-appeal"),
    path("results/<int:pk>/acknowledge/", appeal_views.result_acknowledge, name="result-acknowledge"),
    path("appeals/", appeal_views.appeal_list, name="appeals"),
    path("appeals/<int:pk>/forward/", appeal_views.appeal_forward, name="appeal-forward"),
    path("appeals/<int:pk>/decide/", appeal_views.appeal_decide, name="appeal-decide"),
    path("appeals/<int:pk>/attachment/", appeal_views.appeal_attachment, name="appeal-attachment"),
    path("sheets/", views.sheet_list, name="sheets"),
    path("sheets/<int:pk>/", views.sheet_detail, name="sheet-detail"),
    path("sheets/<int:pk>/status/", views.sheet_status, name="sheet-status"),
    path("sheets/lines/<int:pk>/", views.line_update, name="line-update"),
    path("sheets/lines/<int:pk>/rate/", views.line_rate, name="line-rate"),
    path("sheets/lines/<int:pk>/records/", views.line_record, name="line-record"),
]
