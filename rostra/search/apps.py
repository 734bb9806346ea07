from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "rostra.search"
    label = "search"
