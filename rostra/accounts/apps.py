from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "rostra.accounts"
    label = "accounts"

    def ready(self) -> None:
        from rostra.accounts import sessions  # noqa: F401 - connects the sign-in/sign-out receivers
