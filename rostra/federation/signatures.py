"""HTTP Signatures: how a server proves to another which actor sent a request.

ActivityPub has no sessions between servers. Every request Rostra sends to another server is
signed with the sending actor's RSA key, and every request another server sends to Rostra's
inbox (or, under authorised fetch, to an actor or a post) must carry a signature that verifies
against the public key its ``keyId`` names. This module is the whole of that, as pure functions:
no database, no network. The caller supplies ``public_key_for`` (which looks up or fetches the
key) and ``now``.

Two wire formats:

* **draft-cavage-http-signatures-12**, what the fediverse speaks: a ``Signature`` header with
  ``keyId``, ``algorithm`` (``hs2019`` or ``rsa-sha256``, both RSASSA-PKCS1-v1_5 with SHA-256 in
  practice), ``headers`` and ``signature``. Rostra signs ``(request-target) host date`` and, with
  a body, ``digest`` (RFC 3230 ``Digest: SHA-256=<base64>``), as Mastodon does.
* **RFC 9421** (``Signature-Input`` + ``Signature: sig1=:<base64>:``), which Mastodon 4.4+ sends
  to peers that advertise it: verified here with ``rsa-v1_5-sha256``, ``rsa-pss-sha512`` or
  ``ed25519``; ``sign_request_rfc9421`` produces it for such peers.

What a valid signature must cover, or the request is refused with a ``SignatureError`` whose
text says why (catalogue C1 and C2 in SECURITY-TESTS.md):

* the target — ``(request-target)`` and ``host`` (RFC 9421: ``@method`` with ``@target-uri``, or
  ``@authority`` with ``@request-target`` or ``@path``/``@query``), so a signature made for one
  inbox or one object cannot be replayed against another;
* the time — ``date`` or ``(created)``; a request older than 12 hours, or more than 1 hour in the
  future (clock skew), is refused, as is one past its own ``expires``;
* the body — a request with a body (and every POST) must sign ``digest`` or ``content-digest``
  (RFC 9530 ``sha-256=:<base64>:``), and the digest must match the body received.

All of that is checked before ``public_key_for`` is called, so junk never makes Rostra fetch a
key. RSA keys under 2048 bits are refused.

Not this module's job, on purpose:

* **Replays inside the window.** The same signed request can be sent again within 12 hours; the
  inbox stores activities by id and processes each id once (C2's "a replay is processed once").
* **Whose key it is** (C3). A valid signature proves the key's owner sent the request, not that
  the owner is the activity's ``actor``. The inbox compares the two; ``key_owner`` gives the actor
  URL a keyId names by convention, and the fetched key document's ``owner`` should agree with it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from rostra.core import clock

MAX_AGE = timedelta(hours=12)
MAX_FUTURE = timedelta(hours=1)
MIN_RSA_BITS = 2048
# Bounds on what a stranger can make us parse.
MAX_SIGNATURE_FIELD = 8192
MAX_COVERED = 32

CAVAGE_ALGORITHMS = ("hs2019", "rsa-sha256")
RFC9421_ALGORITHMS = ("rsa-v1_5-sha256", "rsa-pss-sha512", "ed25519")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}


class SignatureError(Exception):
    """The request's signature is missing, malformed, too weak, stale, or does not verify.
    ``str(exc)`` says which, in words a remote admin can act on; the inbox answers 401 with it."""


# ---------------------------------------------------------------------------------------------
# Keys and digests


def generate_key_pair() -> tuple[str, str]:
    """A fresh RSA 2048 key pair (e=65537) as ``(private_pem, public_pem)``: PKCS#8 and SPKI,
    the forms every fediverse server reads from ``publicKeyPem``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    public_pem = (
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    )
    return private_pem, public_pem


def digest_header(body: bytes) -> str:
    """The RFC 3230 ``Digest`` value of a body: ``SHA-256=<base64>``."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def content_digest_header(body: bytes) -> str:
    """The RFC 9530 ``Content-Digest`` value of a body: ``sha-256=:<base64>:``."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def key_owner(key_id: str) -> str:
    """The actor URL a keyId names: the keyId without its fragment (Mastodon's ``#main-key``),
    or without a final ``/main-key`` segment (GoToSocial's form). The inbox compares it with the
    activity's actor (C3); it is a convention, so the key document's ``owner`` should agree."""
    parts = urlsplit(key_id)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise SignatureError(f"the keyId {key_id!r} is not an http(s) URL, so it names no actor")
    if "#" in key_id:
        return key_id.split("#", 1)[0]
    if parts.path.endswith("/main-key") and not parts.query:
        return parts._replace(path=parts.path.removesuffix("/main-key")).geturl()
    return key_id


@lru_cache(maxsize=256)
def _private_key(pem: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SignatureError("the private key is not a valid unencrypted PEM key") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SignatureError("Rostra signs with RSA keys only")
    return key


_PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey


@lru_cache(maxsize=1024)
def _public_key(pem: str) -> _PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError, UnsupportedAlgorithm) as exc:
        raise SignatureError("the public key is not a valid PEM key") from exc
    if not isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        raise SignatureError("the public key is neither RSA nor Ed25519")
    return key


# ---------------------------------------------------------------------------------------------
# Signing


def _target(url: str) -> tuple[str, str]:
    """(Host header value, path with query) of an absolute http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise SignatureError(f"cannot sign a request to {url!r}: not an absolute http(s) URL")
    default_port = 443 if parts.scheme == "https" else 80
    host = parts.hostname if parts.port in (None, default_port) else f"{parts.hostname}:{parts.port}"
    if ":" in parts.hostname:  # an IPv6 literal keeps its brackets in Host
        host = f"[{parts.hostname}]" + (f":{parts.port}" if parts.port not in (None, default_port) else "")
    return host, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _merged(headers: dict[str, str], ours: dict[str, str]) -> dict[str, str]:
    replaced = {name.lower() for name in ours}
    merged = {name: value for name, value in headers.items() if name.lower() not in replaced}
    merged.update(ours)
    return merged


def sign_request(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    *,
    key_id: str,
    private_key_pem: str,
    now: datetime | None = None,
    algorithm: str = "hs2019",
) -> dict[str, str]:
    """The headers to send with a request, signed the draft-cavage way: the given headers plus
    ``Host``, ``Date``, ``Digest`` (when there is a body) and ``Signature`` over
    ``(request-target) host date [digest]``. ``algorithm`` is what the header announces:
    ``hs2019`` (default) or ``rsa-sha256`` for peers that want it; both sign RSASSA-PKCS1-v1_5
    with SHA-256, which is what every fediverse verifier checks."""
    if algorithm not in CAVAGE_ALGORITHMS:
        raise SignatureError(f"unknown signing algorithm {algorithm!r} (use hs2019 or rsa-sha256)")
    key = _private_key(private_key_pem)
    host, path = _target(url)
    ours = {"Host": host, "Date": format_datetime(_when(now), usegmt=True)}
    if body is not None:
        ours["Digest"] = digest_header(body)
    lines = [f"(request-target): {method.lower()} {path}"] + [f"{name.lower()}: {value}" for name, value in ours.items()]
    covered = " ".join(["(request-target)", *(name.lower() for name in ours)])
    signature = base64.b64encode(key.sign("\n".join(lines).encode("utf-8"), padding.PKCS1v15(), hashes.SHA256()))
    ours["Signature"] = (
        f'keyId="{_quote(key_id)}",algorithm="{algorithm}",headers="{covered}",signature="{signature.decode("ascii")}"'
    )
    return _merged(headers, ours)


def sign_request_rfc9421(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    *,
    key_id: str,
    private_key_pem: str,
    now: datetime | None = None,
    label: str = "sig1",
) -> dict[str, str]:
    """The same request signed the RFC 9421 way, for peers that advertise it: ``Signature-Input``
    covering ``@method @target-uri [content-digest]`` with ``created``, ``keyid`` and
    ``alg="rsa-v1_5-sha256"``, and ``Signature: sig1=:<base64>:``. ``Host`` and ``Date`` are sent
    too, and ``Content-Digest`` when there is a body."""
    key = _private_key(private_key_pem)
    host, path = _target(url)
    when = _when(now)
    ours = {"Host": host, "Date": format_datetime(when, usegmt=True)}
    components = ["@method", "@target-uri"]
    if body is not None:
        ours["Content-Digest"] = content_digest_header(body)
        components.append("content-digest")
    params: list[tuple[str, _Bare]] = [("created", int(when.timestamp())), ("keyid", key_id), ("alg", "rsa-v1_5-sha256")]
    signature_params = _serialize_inner_list([(c, []) for c in components], params)
    values = {
        "@method": method.upper(),
        "@target-uri": f"{urlsplit(url).scheme}://{host}{path}",
        "content-digest": ours.get("Content-Digest", ""),
    }
    base = "\n".join([*(f'"{c}": {values[c]}' for c in components), f'"@signature-params": {signature_params}'])
    signature = key.sign(base.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    ours["Signature-Input"] = f"{label}={signature_params}"
    ours["Signature"] = f"{label}=:{base64.b64encode(signature).decode('ascii')}:"
    return _merged(headers, ours)


def _when(now: datetime | None) -> datetime:
    when = clock.now() if now is None else now
    if when.tzinfo is None:
        raise SignatureError("now must be a timezone-aware datetime")
    return when.astimezone(UTC)


def _quote(value: str) -> str:
    if any(ch in value for ch in '"\\\r\n'):
        raise SignatureError(f"the keyId {value!r} cannot be put in a Signature header")
    return value


# ---------------------------------------------------------------------------------------------
# Verifying


def verify_request(
    method: str,
    path_with_query: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    public_key_for: Callable[[str], str | None],
    now: datetime | None = None,
    require_digest_for_body: bool = True,
    scheme: str = "https",
    min_rsa_bits: int = MIN_RSA_BITS,
) -> str:
    """The keyId whose key signed this request, or ``SignatureError`` saying why not.

    ``headers`` as received (names in any case); ``body`` the raw bytes. ``public_key_for(keyId)``
    returns the PEM of that key or None when it cannot be found; it is called only once every
    other check has passed, and its own exceptions pass through. ``scheme`` is the scheme this
    server was reached on (RFC 9421's ``@target-uri`` covers it). Replays inside the window are
    the inbox's to discard (by activity id), and whether the key's owner is the activity's actor
    is the inbox's to check (``key_owner``)."""
    request = _Request(method.upper(), path_with_query, _lowercased(headers), body, scheme, _when(now))
    if "signature-input" in request.headers:
        claim = _rfc9421_claim(request, require_digest_for_body)
    elif "signature" in request.headers:
        claim = _cavage_claim(request, require_digest_for_body)
    else:
        raise SignatureError("the request is not signed: it has no Signature header")
    pem = public_key_for(claim.key_id)
    if pem is None:
        raise SignatureError(f"no public key could be found for keyId {claim.key_id!r}")
    key = _public_key(pem)
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < min_rsa_bits:
        raise SignatureError(f"the key {claim.key_id!r} has {key.key_size} bits; at least {min_rsa_bits} are required")
    if not _verifies(key, claim.algorithm, claim.signature, claim.signed.encode("utf-8")):
        raise SignatureError(f"the signature does not verify with the key {claim.key_id!r}")
    return claim.key_id


def claimed_key_id(headers: Mapping[str, str]) -> str:
    """The keyId a request's signature names, parsed but **not** verified: only for refusing a
    request early (a refused domain, before its key is fetched), never for trusting it."""
    lowered = _lowercased(headers)
    if "signature-input" in lowered:
        if len(lowered["signature-input"]) > MAX_SIGNATURE_FIELD:
            raise SignatureError("the Signature-Input header is too long")
        try:
            inputs = _parse_dictionary(lowered["signature-input"])
        except ValueError as exc:
            raise SignatureError(f"the Signature-Input header is malformed: {exc}") from exc
        for _members, params in inputs.values():
            key_id = dict(params).get("keyid")
            if isinstance(key_id, str) and key_id:
                return key_id
        raise SignatureError("the Signature-Input header names no keyid")
    if "signature" in lowered:
        return _cavage_params(lowered["signature"])["keyId"]
    raise SignatureError("the request is not signed: it has no Signature header")


@dataclass(frozen=True)
class _Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    scheme: str
    now: datetime


@dataclass(frozen=True)
class _Claim:
    """What a signature says: who, how, the bytes it signs, and the signature itself."""

    key_id: str
    algorithm: str | None  # None: decided by the key's type (RFC 9421 without alg)
    signed: str
    signature: bytes


def _lowercased(headers: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower in out and out[lower] != value:
            raise SignatureError(f"the header {name!r} appears twice with different values")
        out[lower] = value
    return out


def _verifies(key: _PublicKey, algorithm: str | None, signature: bytes, data: bytes) -> bool:
    """RSA keys: PKCS#1 v1.5 with SHA-256 (what the fediverse means by hs2019), then, for hs2019
    and an unannounced RFC 9421 algorithm, PSS with SHA-512 (what draft-cavage means by it)."""
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            if algorithm not in (None, "hs2019", "ed25519"):
                raise SignatureError(f"the algorithm {algorithm!r} does not fit an Ed25519 key")
            key.verify(signature, data)
            return True
        if algorithm == "ed25519":
            raise SignatureError("the algorithm ed25519 does not fit an RSA key")
        if algorithm != "rsa-pss-sha512":
            try:
                key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
                return True
            except InvalidSignature:
                if algorithm in ("rsa-sha256", "rsa-v1_5-sha256"):
                    return False
        key.verify(signature, data, padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64), hashes.SHA512())
        return True
    except InvalidSignature:
        return False


def _check_time(request: _Request, moment: datetime, what: str) -> None:
    if request.now - moment > MAX_AGE:
        raise SignatureError(f"the {what} ({moment.isoformat()}) is more than 12 hours old")
    if moment - request.now > MAX_FUTURE:
        raise SignatureError(f"the {what} ({moment.isoformat()}) is more than 1 hour in the future")


def _check_expires(request: _Request, expires: int) -> None:
    moment = datetime.fromtimestamp(expires, UTC)
    if request.now - moment > MAX_FUTURE:  # the same 1 hour of clock skew
        raise SignatureError(f"the signature expired at {moment.isoformat()}")


def _http_date(value: str) -> datetime:
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError) as exc:
        raise SignatureError(f"the Date header {value!r} is not an HTTP date") from exc
    if moment.tzinfo is None:
        raise SignatureError(f"the Date header {value!r} has no time zone")
    return moment


def _timestamp(value: object, name: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SignatureError(f"the signature's {name} parameter is not an integer")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise SignatureError(f"the signature's {name} parameter is out of range") from exc


def _check_body(request: _Request, covered: list[str], require_digest: bool) -> None:
    """A body (or a POST) must sign a digest of it, and every signed digest must match it."""
    if require_digest and (request.body or request.method in _BODY_METHODS) and not {"digest", "content-digest"} & set(covered):
        raise SignatureError(f"a {request.method} with a body must sign its Digest (or Content-Digest) header")
    if "digest" in covered:
        _check_digest(request.headers.get("digest"), request.body)
    if "content-digest" in covered:
        _check_content_digest(request.headers.get("content-digest"), request.body)


def _check_digest(value: str | None, body: bytes) -> None:
    if value is None:
        raise SignatureError("the Digest header is signed but missing")
    offered: dict[str, str] = {}
    for part in value.split(","):
        name, sep, encoded = part.strip().partition("=")
        if not sep:
            raise SignatureError(f"the Digest header {value!r} is malformed")
        offered[name.strip().lower()] = encoded.strip()
    known = {name: encoded for name, encoded in offered.items() if name in _DIGESTS}
    if not known:
        raise SignatureError(f"the Digest header offers no SHA-256 or SHA-512 (offered: {', '.join(offered)})")
    for name, encoded in known.items():
        try:
            given = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SignatureError(f"the Digest {name} value is not valid base64") from exc
        if given != _DIGESTS[name](body).digest():
            raise SignatureError("the Digest does not match the body")


def _check_content_digest(value: str | None, body: bytes) -> None:
    if value is None:
        raise SignatureError("the Content-Digest header is signed but missing")
    try:
        members = _parse_dictionary(value)
    except ValueError as exc:
        raise SignatureError(f"the Content-Digest header is malformed: {exc}") from exc
    known = {name: item for name, (item, _) in members.items() if name in _DIGESTS}
    if not known:
        raise SignatureError(f"the Content-Digest header offers no sha-256 or sha-512 (offered: {', '.join(members)})")
    for name, item in known.items():
        if not isinstance(item, bytes):
            raise SignatureError(f"the Content-Digest {name} value is not a byte sequence")
        if item != _DIGESTS[name](body).digest():
            raise SignatureError("the Content-Digest does not match the body")


def _header(request: _Request, name: str) -> str:
    value = request.headers.get(name)
    if value is None:
        raise SignatureError(f"the signed header {name!r} is missing from the request")
    return value.strip()


# --- draft-cavage ------------------------------------------------------------------------------

_CAVAGE_PARAM = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([0-9]{1,15}))\s*(?:,|$)')


def _cavage_params(value: str) -> dict[str, str]:
    if len(value) > MAX_SIGNATURE_FIELD:
        raise SignatureError("the Signature header is too long")
    text = value.removeprefix("Signature ")  # old node-http-signature prefixed the scheme name
    params: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        match = _CAVAGE_PARAM.match(text, pos)
        if match is None or match.end() == pos:
            raise SignatureError(f"the Signature header is malformed near {text[pos : pos + 40]!r}")
        name = match.group(1)
        if name in params:
            raise SignatureError(f"the Signature header gives {name!r} twice")
        quoted = match.group(2)
        params[name] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else match.group(3)
        pos = match.end()
    for required in ("keyId", "signature"):
        if not params.get(required):
            raise SignatureError(f"the Signature header has no {required}")
    return params


def _cavage_claim(request: _Request, require_digest: bool) -> _Claim:
    params = _cavage_params(request.headers["signature"])
    algorithm = params.get("algorithm", "hs2019").lower()
    if algorithm not in CAVAGE_ALGORITHMS:
        raise SignatureError(f"the signature algorithm {algorithm!r} is not supported (only hs2019 and rsa-sha256)")
    covered = params.get("headers", "(created)" if algorithm == "hs2019" else "date").lower().split()
    if len(covered) > MAX_COVERED or len(set(covered)) != len(covered):
        raise SignatureError("the signature's headers list is too long or repeats a header")
    # Strength: the target, the host, the time and the body must all be signed.
    if "(request-target)" not in covered:
        raise SignatureError("the signature does not cover (request-target)")
    if "host" not in covered:
        raise SignatureError("the signature does not cover the Host header")
    if "date" not in covered and "(created)" not in covered:
        raise SignatureError("the signature covers neither the Date header nor (created)")
    _check_body(request, covered, require_digest)
    lines = []
    for name in covered:
        if name == "(request-target)":
            value = f"{request.method.lower()} {request.target}"
        elif name in ("(created)", "(expires)"):
            param = name.strip("()")
            if algorithm != "hs2019":
                raise SignatureError(f"{name} may only be signed with hs2019")
            if not (params.get(param) or "").isdigit() or len(params[param]) > 15:
                raise SignatureError(f"{name} is signed but the {param} parameter is missing or not a number")
            value = params[param]
        else:
            value = _header(request, name)
        lines.append(f"{name}: {value}")
    if "date" in covered:
        _check_time(request, _http_date(request.headers["date"]), "Date header")
    if "(created)" in covered:
        _check_time(request, _timestamp(int(params["created"]), "created"), "signature's created time")
    if "(expires)" in covered:
        _check_expires(request, int(params["expires"]))
    try:
        signature = base64.b64decode(params["signature"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("the signature is not valid base64") from exc
    return _Claim(params["keyId"], algorithm, "\n".join(lines), signature)


# --- RFC 9421 ----------------------------------------------------------------------------------


def _rfc9421_claim(request: _Request, require_digest: bool) -> _Claim:
    inputs_text, signatures_text = request.headers["signature-input"], request.headers.get("signature")
    if signatures_text is None:
        raise SignatureError("the request has a Signature-Input header but no Signature header")
    if len(inputs_text) > MAX_SIGNATURE_FIELD or len(signatures_text) > MAX_SIGNATURE_FIELD:
        raise SignatureError("the Signature-Input or Signature header is too long")
    try:
        inputs, signatures = _parse_dictionary(inputs_text), _parse_dictionary(signatures_text)
    except ValueError as exc:
        raise SignatureError(f"the Signature-Input or Signature header is malformed: {exc}") from exc
    # The first signature both headers name is the one checked.
    label = next((name for name in inputs if name in signatures), None)
    if label is None:
        raise SignatureError("the Signature-Input and Signature headers name no signature in common")
    members, params_list = inputs[label]
    signature = signatures[label][0]
    if not isinstance(members, list) or not isinstance(signature, bytes):
        raise SignatureError(f"the signature {label!r} is malformed: expected a component list and a byte sequence")
    params = dict(params_list)
    key_id, algorithm = params.get("keyid"), params.get("alg")
    if not isinstance(key_id, str) or not key_id:
        raise SignatureError(f"the signature {label!r} has no keyid")
    if algorithm is not None and algorithm not in RFC9421_ALGORITHMS:
        raise SignatureError(f"the signature algorithm {algorithm!r} is not supported (only {', '.join(RFC9421_ALGORITHMS)})")
    covered = []
    for item, item_params in members:
        if not isinstance(item, str) or isinstance(item, _Token):
            raise SignatureError(f"the signature {label!r} lists a component that is not a string")
        if item_params:
            raise SignatureError(f"the component {item!r} has parameters, which Rostra does not support")
        covered.append(item)
    if len(covered) > MAX_COVERED or len(set(covered)) != len(covered):
        raise SignatureError("the signature's component list is too long or repeats a component")
    _check_rfc9421_strength(request, covered, "created" in params)
    _check_body(request, covered, require_digest)
    lines = [f'"{name}": {_component(request, name)}' for name in covered]
    lines.append(f'"@signature-params": {_serialize_inner_list(members, params_list)}')
    if "created" in params:
        _check_time(request, _timestamp(params["created"], "created"), "signature's created time")
    if "date" in covered:
        _check_time(request, _http_date(request.headers["date"]), "Date header")
    if "expires" in params:
        expires = params["expires"]
        if isinstance(expires, bool) or not isinstance(expires, int):
            raise SignatureError("the signature's expires parameter is not an integer")
        _check_expires(request, expires)
    return _Claim(key_id, algorithm if isinstance(algorithm, str) else None, "\n".join(lines), signature)


def _check_rfc9421_strength(request: _Request, covered: list[str], has_created: bool) -> None:
    if "@method" not in covered:
        raise SignatureError("the signature does not cover @method")
    if "@target-uri" not in covered:
        if "@authority" not in covered:
            raise SignatureError("the signature covers neither @target-uri nor @authority")
        has_query = "?" in request.target
        if "@request-target" not in covered and ("@path" not in covered or (has_query and "@query" not in covered)):
            raise SignatureError("the signature does not cover the path and query (@request-target, @path, @query)")
    if not has_created and "date" not in covered:
        raise SignatureError("the signature has no created parameter and does not cover the Date header")


def _authority(request: _Request) -> str:
    """The Host header, lower-cased, without the scheme's default port (RFC 9421 2.2.3)."""
    host = _header(request, "host").lower()
    try:
        parts = urlsplit("//" + host)
        port, name = parts.port, parts.hostname
    except ValueError as exc:
        raise SignatureError(f"the Host header {host!r} is not a host name") from exc
    if not name:
        raise SignatureError(f"the Host header {host!r} is not a host name")
    name = f"[{name}]" if ":" in name else name
    return name if port in (None, 443 if request.scheme == "https" else 80) else f"{name}:{port}"


def _component(request: _Request, name: str) -> str:
    path, _, query = request.target.partition("?")
    if name == "@method":
        return request.method
    if name == "@target-uri":
        return f"{request.scheme}://{_header(request, 'host').lower()}{request.target}"
    if name == "@authority":
        return _authority(request)
    if name == "@scheme":
        return request.scheme
    if name == "@request-target":
        return request.target
    if name == "@path":
        return path or "/"
    if name == "@query":
        return f"?{query}"
    if name.startswith("@"):
        raise SignatureError(f"the component {name!r} is not supported in a request signature")
    if name != name.lower():
        raise SignatureError(f"the component {name!r} is not lower case")
    return _header(request, name)


# --- Structured Field Values (RFC 8941), just what signatures and digests use -------------------


class _Token(str):
    """An sf-token, kept apart from an sf-string so it serialises without quotes."""

    __slots__ = ()


_Bare = int | float | str | bytes | bool
_Params = list[tuple[str, _Bare]]
_InnerList = list[tuple[_Bare, _Params]]
_KEY = re.compile(r"[a-z*][a-z0-9_.*-]*")
_TOKEN = re.compile(r"[A-Za-z*][A-Za-z0-9!#$%&'*+.^_`|~:/-]*")
_NUMBER = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,3})?")
_BYTES = re.compile(r":([A-Za-z0-9+/=]*):")


def _parse_dictionary(text: str) -> dict[str, tuple[_Bare | _InnerList, _Params]]:
    """An sf-dictionary; raises ValueError on anything RFC 8941 does not allow."""
    s, i, out = text.strip(" \t"), 0, {}
    while i < len(s):
        match = _KEY.match(s, i)
        if match is None:
            raise ValueError(f"expected a key at position {i}")
        key, i = match.group(), match.end()
        value: _Bare | _InnerList
        if i < len(s) and s[i] == "=":
            value, i = _parse_item_or_list(s, i + 1)
        else:
            value = True
        params, i = _parse_params(s, i)
        out[key] = (value, params)
        while i < len(s) and s[i] in " \t":
            i += 1
        if i == len(s):
            break
        if s[i] != ",":
            raise ValueError(f"expected a comma at position {i}")
        i += 1
        while i < len(s) and s[i] in " \t":
            i += 1
        if i == len(s):
            raise ValueError("trailing comma")
    return out


def _parse_item_or_list(s: str, i: int) -> tuple[_Bare | _InnerList, int]:
    if i < len(s) and s[i] == "(":
        items: _InnerList = []
        i += 1
        while True:
            while i < len(s) and s[i] == " ":
                i += 1
            if i < len(s) and s[i] == ")":
                return items, i + 1
            item, i = _parse_bare(s, i)
            params, i = _parse_params(s, i)
            items.append((item, params))
            if i >= len(s) or s[i] not in " )":
                raise ValueError(f"expected a space or ')' at position {i}")
    return _parse_bare(s, i)


def _parse_params(s: str, i: int) -> tuple[_Params, int]:
    params: _Params = []
    while i < len(s) and s[i] == ";":
        i += 1
        while i < len(s) and s[i] == " ":
            i += 1
        match = _KEY.match(s, i)
        if match is None:
            raise ValueError(f"expected a parameter name at position {i}")
        i = match.end()
        value: _Bare = True
        if i < len(s) and s[i] == "=":
            value, i = _parse_bare(s, i + 1)
        params = [(k, v) for k, v in params if k != match.group()] + [(match.group(), value)]
    return params, i


def _parse_bare(s: str, i: int) -> tuple[_Bare, int]:
    if i >= len(s):
        raise ValueError("unexpected end of field")
    ch = s[i]
    if ch == '"':
        out, i = [], i + 1
        while i < len(s):
            ch = s[i]
            if ch == "\\":
                if i + 1 >= len(s) or s[i + 1] not in '"\\':
                    raise ValueError(f"bad escape at position {i}")
                out.append(s[i + 1])
                i += 2
            elif ch == '"':
                return "".join(out), i + 1
            elif " " <= ch <= "~":
                out.append(ch)
                i += 1
            else:
                raise ValueError(f"bad character in a string at position {i}")
        raise ValueError("unterminated string")
    if ch == ":":
        match = _BYTES.match(s, i)
        if match is None:
            raise ValueError(f"bad byte sequence at position {i}")
        try:
            return base64.b64decode(match.group(1), validate=True), match.end()
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"bad base64 at position {i}") from exc
    if ch == "?":
        if s[i + 1 : i + 2] not in ("0", "1"):
            raise ValueError(f"bad boolean at position {i}")
        return s[i + 1] == "1", i + 2
    if ch == "-" or ch.isdigit():
        match = _NUMBER.match(s, i)
        if match is None:
            raise ValueError(f"bad number at position {i}")
        number = match.group()
        return (float(number) if "." in number else int(number)), match.end()
    match = _TOKEN.match(s, i)
    if match is None:
        raise ValueError(f"unexpected {ch!r} at position {i}")
    return _Token(match.group()), match.end()


def _serialize_bare(value: _Bare) -> str:
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value)}.0"
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode("ascii") + ":"
    if isinstance(value, _Token):
        return str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _serialize_params(params: _Params) -> str:
    return "".join(f";{key}" if value is True else f";{key}={_serialize_bare(value)}" for key, value in params)


def _serialize_inner_list(items: _InnerList, params: _Params) -> str:
    inner = " ".join(_serialize_bare(item) + _serialize_params(item_params) for item, item_params in items)
    return f"({inner}){_serialize_params(params)}"
