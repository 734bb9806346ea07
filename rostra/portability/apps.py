from django.apps import AppConfig


class PortabilityConfig(AppConfig):
    name = "rostra.portability"
    label = "portability"
