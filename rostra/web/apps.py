from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "rostra.web"
    label = "web"
