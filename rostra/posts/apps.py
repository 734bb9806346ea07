from django.apps import AppConfig


class PostsConfig(AppConfig):
    name = "rostra.posts"
    label = "posts"
