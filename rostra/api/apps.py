from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "rostra.api"
    label = "api"
    verbose_name = "Client API"

    def ready(self) -> None:
        # Settings → Security lists and revokes a person's tokens through rostra.accounts.sessions.
        from rostra.accounts import sessions
        from rostra.api import oauth

        sessions.register_grant_directory(oauth.GrantDirectory())
