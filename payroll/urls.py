from django.urls import path

from payroll import budget_views, policy_editor_views, policy_views, views, whatif_views

urlpatterns = [
    path("pay/", views.pay_overview, name="pay-runs"),
    path("pay/periods/<int:pk>/", views.period_pay_runs, name="period-pay-runs"),
    path("pay/periods/<int:pk>/compute/", views.period_pay_compute, name="period-pay-compute"),
    path("pay/runs/<int:pk>/", views.pay_run_detail, name="pay-run-detail"),
    path("pay/runs/<int:pk>/confirm/", views.pay_run_confirm, name="pay-run-confirm"),
    path("pay/runs/<int:pk>/exports/", views.pay_run_export, name="pay-run-export"),
    path("pay/exports/<int:pk>/", views.pay_export_progress, name="pay-export-progress"),
    path("pay/exports/<int:pk>/download/", views.pay_export_download, name="pay-export-download"),
    path("pay/jobs/<int:pk>/restart/", views.pay_job_restart, name="pay-job-restart"),
    path("pay/mine/", views.my_pay_slips, name="my-pay-slips"),
    # Pay policies and pay inputs (payroll.policy_views).
    path("pay/policies/", policy_views.pay_policies, name="pay-policies"),
    path("pay/policies/new/", policy_views.pay_policy_new, name="pay-policy-new"),
    path("pay/policies/<int:pk>/", policy_views.pay_policy_detail, name="pay-policy-detail"),
    path("pay/policies/<int:pk>/new-version/", policy_views.pay_policy_new_version, name="pay-policy-new-version"),
    # The structured pay policy editor (payroll.policy_editor_views); the JSON pages above stay as "advanced".
    path("pay/policies/editor/new/", policy_editor_views.pay_policy_editor, name="pay-policy-editor-create"),
    path("pay/policies/<int:pk>/editor/", policy_editor_views.pay_policy_editor, name="pay-policy-editor-edit"),
    path("pay/policies/editor/rows/", policy_editor_views.pay_policy_editor_rows, name="pay-policy-editor-rows"),
    path("pay/policies/editor/preview/", policy_editor_views.pay_policy_editor_preview,
         name="pay-policy-editor-preview"),
    path("pay/policies/editor/check-formula/", policy_editor_views.pay_policy_editor_check,
         name="pay-policy-editor-check"),
    path("pay/inputs/", policy_views.pay_inputs_latest, name="pay-inputs-latest"),
    path("pay/periods/<int:pk>/inputs/", policy_views.pay_inputs, name="pay-inputs"),
    path("pay/periods/<int:pk>/inputs/new/", policy_views.pay_input_new, name="pay-input-new"),
    path("pay/periods/<int:pk>/inputs/upload/", views.pay_input_upload, name="pay-input-upload"),
    path("pay/inputs/<int:pk>/", policy_views.pay_input_edit, name="pay-input-edit"),
    # Labour-cost budgets of a period (payroll.budget_views).
    path("pay/periods/<int:pk>/budgets/", budget_views.pay_budgets, name="pay-budgets"),
    # What-if: a closed period under a candidate grading or pay policy, nothing saved (payroll.whatif).
    path("pay/what-if/", whatif_views.what_if_page, name="pay-what-if"),
    path("pay/what-if/download/", whatif_views.what_if_download, name="pay-what-if-download"),
]
