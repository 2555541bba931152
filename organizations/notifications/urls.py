from django.urls import path

from organizations.notifications import views

urlpatterns = [
    path("notifications/", views.inbox, name="notifications"),
    path("notifications/read-all/", views.mark_all_read, name="notifications-read-all"),
    path("notifications/<int:pk>/open/", views.open_notification, name="notification-open"),
    path("notifications/<int:pk>/read/", views.mark_read, name="notification-read"),
    path("notifications/channels/", views.my_channels, name="notification-channels"),
    path("notifications/settings/", views.notification_settings, name="notification-settings"),
    path("notifications/robots/<int:pk>/remove/", views.remove_robot, name="notification-robot-remove"),
    path("notifications/deliveries/<int:pk>/retry/", views.retry_delivery, name="notification-delivery-retry"),
    path("notifications/record/<int:pk>/", views.notice_record, name="notification-record"),
]
