"""Authorised fetch (Mastodon's "secure mode"): servers must sign their GETs of our documents.

With ``ROSTRA_AUTHORIZED_FETCH`` on (the default), the ActivityStreams documents of actors,
notes, outboxes, follower and following collections and featured collections answer only a GET
signed by some server's actor (draft-cavage or RFC 9421, checked exactly as the inbox checks a
POST, key rotation included), so the instance knows which server reads what, and a suspended
domain (``policy.refuses_fetch_from``) reads nothing (403).

What stays open, and why:

* **an unsigned GET of an actor** answers a *minimal* actor: its id, type, preferredUsername,
  inbox, outbox, collections' URLs, endpoints and publicKey, nothing a person wrote. A peer must
  be able to fetch the key behind ``/users/alice#main-key`` to check alice's signatures without
  signing (a signed GET to fetch the key that checks signatures could loop); Mastodon does the same.
* **the instance actor** (``/actor``), whose key checks our own signed GETs;
* WebFinger, host-meta, NodeInfo and every web page (a browser asking for HTML is redirected to
  the page as before: the page shows what an anonymous visitor may see anyway).

Everything else unsigned answers 401 with ``WWW-Authenticate: Signature ...`` and a short JSON
error, the same bytes whether or not the thing exists (nothing leaks). A signed GET is read as an
anonymous visitor reads (docs/federation.md, "What may be read"): the signature says who asks,
not what they may see.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers

from rostra.federation import inbox, policy, uris
from rostra.federation.actors import host_of
from rostra.federation.signatures import SignatureError, claimed_key_id

View = Callable[..., HttpResponse]
CHALLENGE = 'Signature realm="{realm}",headers="(request-target) host date"'
# What an unsigned GET of an actor may see: enough to find its key and inboxes, nothing written.
MINIMAL_ACTOR_FIELDS = (
    "@context",
    "id",
    "type",
    "preferredUsername",
    "inbox",
    "outbox",
    "followers",
    "following",
    "featured",
    "url",
    "publicKey",
    "endpoints",
)


def enabled() -> bool:
    return bool(getattr(settings, "AUTHORIZED_FETCH", True))


def unauthorized(message: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=401)
    response["WWW-Authenticate"] = CHALLENGE.format(realm=uris.domain())
    patch_vary_headers(response, ("Accept", "Signature", "Signature-Input"))
    return response


def forbidden(domain: str) -> JsonResponse:
    response = JsonResponse({"error": f"This server does not serve its documents to {domain[:255]}."}, status=403)
    patch_vary_headers(response, ("Accept", "Signature", "Signature-Input"))
    return response


def is_signed(request: HttpRequest) -> bool:
    return "Signature" in request.headers or "Signature-Input" in request.headers


def check(request: HttpRequest) -> HttpResponse | None:
    """None when the signed request may be served; otherwise the refusal to answer (401 for a
    signature that does not verify, 403 for a refused domain). Call it only for signed requests."""
    try:
        claimed = claimed_key_id(request.headers)
    except SignatureError as exc:
        return unauthorized(f"The HTTP signature is not valid: {exc}")
    # The domain is refused before its key is fetched: nothing is fetched from a suspended domain.
    if policy.refuses_fetch_from(host_of(claimed)):
        return forbidden(host_of(claimed))
    try:
        _key_id, owner = inbox.verified_signer(
            request.method or "GET",
            request.get_full_path(),
            "https" if request.is_secure() else "http",
            request.headers,
            b"",
        )
    except inbox.Refused as exc:
        return unauthorized(exc.message)
    if policy.refuses_fetch_from(host_of(owner)):
        return forbidden(host_of(owner))
    return None


def asks_for_activity_json(request: HttpRequest) -> bool:
    """A server asking for ActivityStreams (browsers ask for HTML); as ``views.wants_activity_json``."""
    accept = request.headers.get("Accept", "").lower()
    return "application/activity+json" in accept or "application/ld+json" in accept


def signed_only(*, minimal_actor: View | None = None, html_passes: bool = False) -> Callable[[View], View]:
    """Guard a document view. ``html_passes``: a browser (no ActivityStreams in ``Accept``) goes
    through to the view, which redirects to the page. ``minimal_actor``: an unsigned GET gets the
    actor document cut down to ``MINIMAL_ACTOR_FIELDS`` rather than 401."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not enabled() or (html_passes and not asks_for_activity_json(request)):
                return view(request, *args, **kwargs)
            if not is_signed(request):
                if minimal_actor is None:
                    return unauthorized("This server requires a signed request (authorised fetch).")
                response = minimal_actor(request, *args, **kwargs)
            else:
                response = check(request) or view(request, *args, **kwargs)
            # A cache must not hand the minimal actor to a signed request, nor the full one to an unsigned.
            patch_vary_headers(response, ("Signature", "Signature-Input"))
            return response

        return wrapper

    return decorate


def minimal(doc: dict[str, Any]) -> dict[str, Any]:
    """An actor document cut down to what an unsigned GET may see."""
    return {name: doc[name] for name in MINIMAL_ACTOR_FIELDS if name in doc}
