from django.urls import path

from payroll import views

urlpatterns = [
    path("pay/", views.pay_overview, name="pay-runs"),
    path("pay/periods/<int:pk>/", views.period_pay_runs, name="period-pay-runs"),
    path("pay/periods/<int:pk>/compute/", views.period_pay_compute, name="period-pay-compute"),
    path("pay/runs/<int:pk>/", views.pay_run_detail, name="pay-run-detail"),
    path("pay/runs/<int:pk>/confirm/", views.pay_run_confirm, name="pay-run-confirm"),
    path("pay/runs/<int:pk>/exports/", views.pay_run_export, name="pay-run-export"),
    path("pay/exports/<int:pk>/", views.pay_export_progress, name="pay-export-progress"),
    path("pay/exports/<int:pk>/download/", views.pay_export_download, name="pay-export-download"),
    path("pay/mine/", views.my_pay_slips, name="my-pay-slips"),
]
