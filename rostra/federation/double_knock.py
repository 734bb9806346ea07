"""Choosing the HTTP Signatures scheme of a delivery: RFC 9421 where the peer takes it,
draft-cavage where it does not ("double-knocking", as Mastodon 4.5 and other servers do).

A POST to a domain not known to refuse RFC 9421 is signed the RFC 9421 way first. If the peer
answers 400 or 401 (what a server that does not read ``Signature-Input`` answers), the same
request is sent again at once signed the draft-cavage way. What worked is remembered on the
domain's ``DomainHealth`` row (``signature_scheme``): a domain that took RFC 9421 keeps getting
it; one that needed draft-cavage gets draft-cavage straight away, and is offered RFC 9421 again
after ``RECHECK_AFTER`` (servers upgrade). When both knocks fail, nothing is learnt: the refusal
had another cause, and the delivery's own retry schedule applies.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rostra.core import outbound
from rostra.federation.models import DomainHealth
from rostra.federation.signatures import sign_request, sign_request_rfc9421

RFC9421 = "rfc9421"
CAVAGE = "cavage"
RECHECK_AFTER = timedelta(days=30)
FALLBACK_STATUSES = frozenset({400, 401})


def scheme_for(domain: str, at: datetime) -> str:
    """The scheme to knock with first."""
    row = DomainHealth.objects.filter(domain=domain).values_list("signature_scheme", "signature_scheme_at").first()
    if row is not None and row[0] == CAVAGE and row[1] is not None and at - row[1] < RECHECK_AFTER:
        return CAVAGE
    return RFC9421


def remember(domain: str, scheme: str, at: datetime, *, refresh: bool = False) -> None:
    """Record what the domain accepted. Written only when it changes, or with ``refresh`` (a
    fallback to draft-cavage: its time restarts the wait before RFC 9421 is offered again)."""
    rows = DomainHealth.objects.filter(domain=domain)
    if not refresh:
        rows = rows.exclude(signature_scheme=scheme)
    if (
        not rows.update(signature_scheme=scheme, signature_scheme_at=at)
        and not DomainHealth.objects.filter(domain=domain).exists()
    ):
        DomainHealth.objects.get_or_create(domain=domain, defaults={"signature_scheme": scheme, "signature_scheme_at": at})


def signed_headers(scheme: str, url: str, body: bytes, *, key_id: str, private_key_pem: str, at: datetime) -> dict[str, str]:
    sign = sign_request_rfc9421 if scheme == RFC9421 else sign_request
    signed = sign(
        "POST",
        url,
        {"Content-Type": "application/activity+json", "Accept": "application/activity+json"},
        body,
        key_id=key_id,
        private_key_pem=private_key_pem,
        now=at,
    )
    return {k: v for k, v in signed.items() if k.lower() != "host"}  # the client sets Host itself


def post(domain: str, url: str, body: bytes, *, key_id: str, private_key_pem: str, at: datetime) -> outbound.Response:
    """POST ``body`` to ``url`` signed by ``key_id``, knocking twice when RFC 9421 is refused.
    Raises what the outbound client and the signer raise."""
    first = scheme_for(domain, at)
    response = _send(first, url, body, key_id=key_id, private_key_pem=private_key_pem, at=at)
    if 200 <= response.status < 300:
        remember(domain, first, at)
    elif first == RFC9421 and response.status in FALLBACK_STATUSES:
        response = _send(CAVAGE, url, body, key_id=key_id, private_key_pem=private_key_pem, at=at)
        if 200 <= response.status < 300:
            remember(domain, CAVAGE, at, refresh=True)
    return response


def _send(scheme: str, url: str, body: bytes, *, key_id: str, private_key_pem: str, at: datetime) -> outbound.Response:
    headers = signed_headers(scheme, url, body, key_id=key_id, private_key_pem=private_key_pem, at=at)
    return outbound.client().request("POST", url, headers=headers, body=body, follow_redirects=False)
