"""``/authorize_interaction?uri=...``: the remote-follow address WebFinger advertises.

Another server sends its user here with a handle (``acct:zoe@remote.example``) or a post or
profile URL; the signed-in person lands where the follow, like and repost buttons are. The thing
is found here, or fetched from its server (``search.resolve`` with ``remote``: rate-limited).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_GET

from rostra.search import queries as search
from rostra.web.cards import post_url
from rostra.web.http import error_page, viewer

MAX_URI = 2048


@require_GET
def authorize_interaction(request: HttpRequest) -> HttpResponse:
    uri = (request.GET.get("uri") or "").strip()
    if uri.lower().startswith("acct:"):
        uri = uri[5:]
    is_url = uri.startswith(("https://", "http://"))
    if not uri or len(uri) > MAX_URI or (not is_url and "@" not in uri.lstrip("@")):
        return error_page(request, 400, "The address to follow or interact with is missing or not understood: give a handle like @name@server.example, or a post or profile URL.")
    account = viewer(request)
    if account is None:
        return HttpResponseRedirect("/login?" + urlencode({"next": request.get_full_path()}))
    found = search.resolve(account, uri, remote=True)
    if found.post is not None:
        return HttpResponseRedirect(post_url(found.post))
    if found.account is not None:
        return HttpResponseRedirect(f"/@{found.account.acct}")  # a remote account's page here: /@zoe@remote.example
    return error_page(request, 404, f"{uri[:200]} could not be found, here or on its server.")
