"""Every GET Rostra makes of another server's ActivityStreams documents: signed as the instance
actor, through the one guarded outbound client.

Actors (``actors.fetch_document``), keys (``inbox.fetch_key``) and objects named by an activity
all come through ``signed_get``. It signs draft-cavage style over ``(request-target) host date``
with the instance actor's key (``instance_actor``), so peers running authorised fetch (Mastodon's
secure mode, GoToSocial, Rostra itself) answer. Redirects are followed here, at most
``MAX_REDIRECTS``, and each hop is signed again: a signature covers one path on one host, and the
outbound client strips it when a redirect changes origin anyway.
"""

from __future__ import annotations

from urllib.parse import urljoin

from rostra.core import outbound
from rostra.federation import instance_actor, uris
from rostra.federation.signatures import SignatureError, sign_request

ACCEPT = f"{uris.AS_MEDIA_TYPE}, {uris.LD_PROFILE}"
MAX_REDIRECTS = 5


def signed_get(url: str, *, accept: str = ACCEPT, max_bytes: int | None = None) -> outbound.Response:
    """GET ``url`` signed by the instance actor; ``Response.url`` is the address that answered.
    Raises ``outbound.OutboundError`` (unreachable, time-out, too large, forbidden, too many
    redirects) like ``outbound.fetch``."""
    signer = instance_actor.signer()
    for _ in range(MAX_REDIRECTS + 1):
        try:
            signed = sign_request("GET", url, {"Accept": accept}, None, key_id=signer.key_id, private_key_pem=signer.private_key_pem)
        except SignatureError as exc:  # not an absolute http(s) URL
            raise outbound.BadResponse(str(exc)) from None
        headers = {k: v for k, v in signed.items() if k.lower() != "host"}  # the client sets Host itself
        response = outbound.client().request("GET", url, headers=headers, max_bytes=max_bytes, follow_redirects=False)
        location = response.header("location").strip()
        if response.status not in outbound.REDIRECT_STATUSES or not location:
            return response
        url = urljoin(url, location).split("#", 1)[0]
    raise outbound.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects")
