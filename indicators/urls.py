from django.urls import path

from indicators import editor_views, template_editor_views, views

urlpatterns = [
    path("indicators/", views.indicator_list, name="indicators"),
    path("indicators/new/", views.indicator_create, name="indicator-create"),
    path("indicators/config-example/", views.config_example, name="indicator-config-example"),
    path("indicators/<int:pk>/", views.indicator_detail, name="indicator-detail"),
    path("indicators/<int:pk>/edit/", views.indicator_edit, name="indicator-edit"),
    path("indicators/<int:pk>/benchmarks/", views.benchmark_add, name="benchmark-add"),
    # The structured editors (the JSON pages above stay as the advanced view).
    path("indicators/editor/new/", editor_views.indicator_editor, name="indicator-editor-create"),
    path("indicators/editor/settings/", editor_views.indicator_editor_settings, name="indicator-editor-settings-new"),
    path("indicators/editor/preview/", editor_views.indicator_editor_preview, name="indicator-editor-preview-new"),
    path("indicators/<int:pk>/editor/", editor_views.indicator_editor, name="indicator-editor-edit"),
    path("indicators/<int:pk>/editor/settings/", editor_views.indicator_editor_settings,
         name="indicator-editor-settings"),
    path("indicators/<int:pk>/editor/preview/", editor_views.indicator_editor_preview,
         name="indicator-editor-preview"),
    path("templates/editor/new/", template_editor_views.template_editor, name="template-editor-create"),
    path("templates/editor/rows/", template_editor_views.template_editor_rows, name="template-editor-rows"),
    path("templates/<int:pk>/editor/", template_editor_views.template_editor, name="template-editor-edit"),
    path("templates/", views.template_list, name="templates"),
    path("templates/new/", views.template_create, name="template-create"),
    path("templates/<int:pk>/", views.template_detail, name="template-detail"),
]
