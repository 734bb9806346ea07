from django.apps import AppConfig


class FederationConfig(AppConfig):
    name = "rostra.federation"
    label = "federation"

    def ready(self) -> None:
        # Moving an account looks accounts up by handle or URL through federation (rostra.accounts.moving).
        from rostra.accounts import moving
        from rostra.federation import moving as federation_moving

        moving.register_directory(federation_moving.Directory())

        # Instance policy: posts from silenced domains leave the public timelines (rostra.federation.policy).
        from rostra.federation import policy
        from rostra.timelines import queries as timelines

        timelines.set_silenced_authors(policy.silenced_filter)

        # The policy's client-API endpoints (admin domain blocks and allows, the public list):
        # federation adds them, as the client API never imports federation.
        from rostra.api.api import api
        from rostra.federation import admin_api

        api.add_router("", admin_api.router)

        # Search and @mentions find accounts and posts on other servers (rostra.federation.resolve).
        from rostra.federation import resolve
        from rostra.posts import remote_mentions
        from rostra.search import remote

        remote.register_fetcher(resolve.for_search)
        remote_mentions.register(remote_mentions.RemoteAccounts(find=resolve.for_mention, profile_url=resolve.profile_url))

        # A local account being deleted says goodbye first: Delete of its actor (rostra.accounts.farewell).
        from rostra.accounts import farewell
        from rostra.federation import delivery

        farewell.register(delivery.on_account_purged)
