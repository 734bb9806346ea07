from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "rostra.notifications"
    label = "notifications"
