from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "rostra.moderation"
    label = "moderation"
