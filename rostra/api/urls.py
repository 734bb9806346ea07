"""The client API (/api/...), OAuth (/oauth/...) and the discovery documents."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, path, re_path, resolve
from django.views.decorators.csrf import csrf_exempt

from rostra.api import oauth_views
from rostra.api.api import api
from rostra.api.http import error_response


@csrf_exempt  # the API authenticates with bearer tokens, never cookies: a POST to a wrong path is a 404, not a CSRF page
def api_not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Anything else under /api/ answers Mastodon's 404, not the web UI's HTML page.

    Mastodon (Rails) ignores a trailing slash, and clients send one here and there
    (``/api/v1/timelines/home/``): such a path is answered by the endpoint without it."""
    if rest.endswith("/") and rest.strip("/"):
        try:
            match = resolve("/api/" + rest.rstrip("/"))
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            return match.func(request, *match.args, **match.kwargs)
    return error_response(404, "Record not found")


urlpatterns = [
    path("api/", api.urls),
    re_path(r"^api/(?P<rest>.*)$", api_not_found),
    path("oauth/authorize", oauth_views.authorize, name="oauth_authorize"),
    path("oauth/token", oauth_views.token, name="oauth_token"),
    path("oauth/revoke", oauth_views.revoke, name="oauth_revoke"),
    path(".well-known/oauth-authorization-server", oauth_views.authorization_server_metadata, name="oauth_metadata"),
    path(".well-known/nodeinfo", oauth_views.nodeinfo_links, name="nodeinfo_links"),
    path("nodeinfo/2.0", oauth_views.nodeinfo, name="nodeinfo"),
]
