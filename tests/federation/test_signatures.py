"""HTTP Signatures (rostra.federation.signatures): signing, verifying, and every refusal of
catalogue C1 (unsigned) and C2 (signature strength), plus interop with the way Mastodon signs,
the draft-cavage spec's own test vectors and RFC 9421's.

Keys are real RSA keys made once per module; time is passed explicitly as ``now``."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rostra.federation.signatures import (
    SignatureError,
    digest_header,
    generate_key_pair,
    key_owner,
    sign_request,
    sign_request_rfc9421,
    verify_request,
)

NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)
KEY_ID = "https://rostra.example/users/alice#main-key"
INBOX = "https://remote.example/users/bob/inbox"
BODY = b'{"type": "Follow", "actor": "https://rostra.example/users/alice"}'


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return generate_key_pair()


@pytest.fixture(scope="module")
def other_keys() -> tuple[str, str]:
    return generate_key_pair()


def lookup(public_pem: str, key_id: str = KEY_ID) -> Callable[[str], str | None]:
    return lambda asked: public_pem if asked == key_id else None


def signed_post(keys: tuple[str, str], *, body: bytes = BODY, now: datetime = NOW, **kwargs: str) -> dict[str, str]:
    return sign_request(
        "POST",
        INBOX,
        {"Content-Type": "application/activity+json"},
        body,
        key_id=KEY_ID,
        private_key_pem=keys[0],
        now=now,
        **kwargs,
    )


def verify_post(
    keys: tuple[str, str], headers: dict[str, str], *, body: bytes = BODY, now: datetime = NOW, **kwargs: object
) -> str:
    return verify_request(
        "POST",
        "/users/bob/inbox",
        headers,
        body,
        public_key_for=lookup(keys[1]),
        now=now,
        **kwargs,  # type: ignore[arg-type]
    )


def manual_signature(private_pem: str, lines: list[str], params: str) -> str:
    """A draft-cavage Signature header built by hand from the spec's string-to-sign."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    signature = base64.b64encode(key.sign("\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())).decode()
    return f'{params},signature="{signature}"'


# --- keys, digests, key owners --------------------------------------------------------------------


def test_generate_key_pair_is_rsa_2048_with_e_65537(keys: tuple[str, str]) -> None:
    private = serialization.load_pem_private_key(keys[0].encode(), password=None)
    public = serialization.load_pem_public_key(keys[1].encode())
    assert isinstance(private, rsa.RSAPrivateKey) and isinstance(public, rsa.RSAPublicKey)
    assert private.key_size == 2048 and public.public_numbers().e == 65537
    assert public.public_numbers() == private.public_key().public_numbers()
    assert keys[1].startswith("-----BEGIN PUBLIC KEY-----")


def test_digest_header_matches_the_spec_example() -> None:
    # draft-cavage-http-signatures-12, Appendix C: the body {"hello": "world"}.
    assert digest_header(b'{"hello": "world"}') == "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="
    assert digest_header(b"") == "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


def test_c3_key_owner_strips_mastodons_fragment() -> None:
    assert key_owner("https://mastodon.example/users/alice#main-key") == "https://mastodon.example/users/alice"
    assert key_owner("https://rostra.example/@alice#key-2") == "https://rostra.example/@alice"


def test_c3_key_owner_strips_gotosocials_main_key_segment() -> None:
    assert key_owner("https://gts.example/users/carol/main-key") == "https://gts.example/users/carol"


def test_c3_key_owner_of_a_bare_actor_url_is_itself() -> None:
    assert key_owner("https://pleroma.example/users/dave") == "https://pleroma.example/users/dave"


@pytest.mark.parametrize("key_id", ["acct:alice@mastodon.example", "main-key", "ftp://x.example/a#k", "https:///nohost#k", ""])
def test_c3_key_owner_refuses_what_is_not_an_http_url(key_id: str) -> None:
    with pytest.raises(SignatureError, match="not an http"):
        key_owner(key_id)


# --- signing ------------------------------------------------------------------------------------


def test_sign_request_adds_host_date_digest_and_signature(keys: tuple[str, str]) -> None:
    headers = signed_post(keys)
    assert headers["Content-Type"] == "application/activity+json"
    assert headers["Host"] == "remote.example"
    assert headers["Date"] == "Sat, 14 Mar 2026 15:09:26 GMT"
    assert headers["Digest"] == digest_header(BODY)
    signature = headers["Signature"]
    assert signature.startswith(f'keyId="{KEY_ID}",algorithm="hs2019",headers="(request-target) host date digest",signature="')


def test_sign_request_get_has_no_digest_and_signs_the_query(keys: tuple[str, str]) -> None:
    headers = sign_request(
        "GET", "https://remote.example/users/bob/outbox?page=2", {}, None, key_id=KEY_ID, private_key_pem=keys[0], now=NOW
    )
    assert "Digest" not in headers
    assert 'headers="(request-target) host date"' in headers["Signature"]
    assert verify_request("GET", "/users/bob/outbox?page=2", headers, b"", public_key_for=lookup(keys[1]), now=NOW) == KEY_ID
    with pytest.raises(SignatureError, match="does not verify"):
        verify_request("GET", "/users/bob/outbox?page=3", headers, b"", public_key_for=lookup(keys[1]), now=NOW)


def test_sign_request_replaces_callers_host_date_and_signature_whatever_their_case(keys: tuple[str, str]) -> None:
    given_headers = {"host": "evil.example", "DATE": "yesterday", "signature": "forged", "Accept": "application/activity+json"}
    headers = sign_request("GET", INBOX, given_headers, None, key_id=KEY_ID, private_key_pem=keys[0], now=NOW)
    assert {name.lower() for name in headers} == {"host", "date", "signature", "accept"}
    assert headers["Host"] == "remote.example" and headers["Accept"] == "application/activity+json"


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://remote.example:443/inbox", "remote.example"),
        ("https://remote.example:8443/inbox", "remote.example:8443"),
        ("http://127.0.0.2:8000/inbox", "127.0.0.2:8000"),
        ("http://[::1]:8000/inbox", "[::1]:8000"),
    ],
)
def test_sign_request_host_keeps_a_non_default_port(keys: tuple[str, str], url: str, host: str) -> None:
    headers = sign_request("POST", url, {}, b"{}", key_id=KEY_ID, private_key_pem=keys[0], now=NOW)
    assert headers["Host"] == host
    scheme = url.split(":", 1)[0]
    assert verify_request("POST", "/inbox", headers, b"{}", public_key_for=lookup(keys[1]), now=NOW, scheme=scheme) == KEY_ID


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"url": "/users/bob/inbox"}, "not an absolute http"),
        ({"url": "gopher://remote.example/inbox"}, "not an absolute http"),
        ({"algorithm": "hmac-sha256"}, "unknown signing algorithm"),
        ({"private_key_pem": "not a key"}, "not a valid unencrypted PEM key"),
        ({"key_id": 'https://x.example/a"b'}, "cannot be put in a Signature header"),
        ({"now": datetime(2026, 1, 1)}, "timezone-aware"),  # noqa: DTZ001 (the naive datetime is the point)
    ],
)
def test_sign_request_refuses_bad_arguments_clearly(keys: tuple[str, str], kwargs: dict[str, object], reason: str) -> None:
    arguments: dict[str, object] = {"key_id": KEY_ID, "private_key_pem": keys[0], "now": NOW, **kwargs}
    url = arguments.pop("url", INBOX)
    with pytest.raises(SignatureError, match=reason):
        sign_request("POST", url, {}, b"{}", **arguments)  # type: ignore[arg-type]


# --- round trips ----------------------------------------------------------------------------------


def test_round_trip_post(keys: tuple[str, str]) -> None:
    assert verify_post(keys, signed_post(keys)) == KEY_ID


def test_round_trip_post_with_rsa_sha256_announced(keys: tuple[str, str]) -> None:
    headers = signed_post(keys, algorithm="rsa-sha256")
    assert 'algorithm="rsa-sha256"' in headers["Signature"]
    assert verify_post(keys, headers) == KEY_ID


def test_round_trip_get(keys: tuple[str, str]) -> None:
    headers = sign_request("GET", "https://remote.example/users/bob", {}, None, key_id=KEY_ID, private_key_pem=keys[0], now=NOW)
    assert verify_request("GET", "/users/bob", headers, b"", public_key_for=lookup(keys[1]), now=NOW) == KEY_ID


def test_round_trip_rfc9421_post_and_get(keys: tuple[str, str]) -> None:
    headers = sign_request_rfc9421("POST", INBOX, {}, BODY, key_id=KEY_ID, private_key_pem=keys[0], now=NOW)
    assert headers["Signature-Input"].startswith('sig1=("@method" "@target-uri" "content-digest");created=')
    assert verify_post(keys, headers) == KEY_ID
    get = sign_request_rfc9421(
        "GET", "https://remote.example/users/bob", {}, None, key_id=KEY_ID, private_key_pem=keys[0], now=NOW
    )
    assert verify_request("GET", "/users/bob", get, b"", public_key_for=lookup(keys[1]), now=NOW) == KEY_ID


@pytest.mark.parametrize("case", [str.lower, str.upper, str.title])
def test_header_names_are_case_insensitive(keys: tuple[str, str], case: Callable[[str], str]) -> None:
    headers = {case(name): value for name, value in signed_post(keys).items()}
    assert verify_post(keys, headers) == KEY_ID
    rfc = {
        case(n): v
        for n, v in sign_request_rfc9421("POST", INBOX, {}, BODY, key_id=KEY_ID, private_key_pem=keys[0], now=NOW).items()
    }
    assert verify_post(keys, rfc) == KEY_ID


def test_a_header_given_twice_in_different_cases_is_refused(keys: tuple[str, str]) -> None:
    headers = {**signed_post(keys), "host": "other.example"}
    with pytest.raises(SignatureError, match="appears twice"):
        verify_post(keys, headers)


def test_c2_signature_strength_replay_inside_the_window_is_left_to_the_inbox(keys: tuple[str, str]) -> None:
    # The module verifies the same request twice; the inbox processes an activity id once.
    headers = signed_post(keys)
    assert verify_post(keys, headers) == verify_post(keys, headers, now=NOW + timedelta(hours=11)) == KEY_ID


# --- C1: unsigned -----------------------------------------------------------------------------------


def test_c1_unsigned_request_is_refused(keys: tuple[str, str]) -> None:
    headers = {name: value for name, value in signed_post(keys).items() if name != "Signature"}
    with pytest.raises(SignatureError, match="not signed: it has no Signature header"):
        verify_post(keys, headers)


def test_c1_unsigned_get_is_refused(keys: tuple[str, str]) -> None:
    with pytest.raises(SignatureError, match="not signed"):
        verify_request("GET", "/users/bob", {"Host": "remote.example"}, b"", public_key_for=lookup(keys[1]), now=NOW)


# --- C2: signature strength, draft-cavage -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "has no keyId"),
        ("garbage", "malformed"),
        ('keyId="a",signature="b",,', "malformed"),
        ('keyId="https://x.example/a#k"', "has no signature"),
        ('signature="AAAA",headers="(request-target) host date digest"', "has no keyId"),
        ('keyId="a",keyId="b",signature="AAAA"', "gives 'keyId' twice"),
        ('keyId="a" signature="AAAA"', "malformed"),
        ("keyId=" + '"' + "a" * 9000 + '",signature="AAAA"', "too long"),
    ],
)
def test_c2_signature_strength_malformed_signature_header(keys: tuple[str, str], value: str, reason: str) -> None:
    headers = {**signed_post(keys), "Signature": value}
    with pytest.raises(SignatureError, match=reason):
        verify_post(keys, headers)


def test_c2_signature_strength_signature_that_is_not_base64(keys: tuple[str, str]) -> None:
    headers = signed_post(keys)
    headers["Signature"] = headers["Signature"].rsplit('signature="', 1)[0] + 'signature="not base64!"'
    with pytest.raises(SignatureError, match="not valid base64"):
        verify_post(keys, headers)


@pytest.mark.parametrize("algorithm", ["hmac-sha256", "rsa-sha1", "ecdsa-sha256", "none"])
def test_c2_signature_strength_unknown_algorithm(keys: tuple[str, str], algorithm: str) -> None:
    headers = signed_post(keys)
    headers["Signature"] = headers["Signature"].replace('algorithm="hs2019"', f'algorithm="{algorithm}"')
    with pytest.raises(SignatureError, match=f"algorithm '{algorithm}' is not supported"):
        verify_post(keys, headers)


def test_c2_signature_strength_unknown_key_id(keys: tuple[str, str]) -> None:
    with pytest.raises(SignatureError, match="no public key could be found for keyId"):
        verify_request("POST", "/users/bob/inbox", signed_post(keys), BODY, public_key_for=lambda _: None, now=NOW)


def test_c2_signature_strength_signed_by_another_key(keys: tuple[str, str], other_keys: tuple[str, str]) -> None:
    headers = signed_post(other_keys)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_post(keys, headers)


def test_c2_signature_strength_public_key_that_is_not_a_key(keys: tuple[str, str]) -> None:
    with pytest.raises(SignatureError, match="not a valid PEM key"):
        verify_request("POST", "/users/bob/inbox", signed_post(keys), BODY, public_key_for=lambda _: "junk", now=NOW)


def test_c2_signature_strength_rsa_key_under_2048_bits() -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (the weak key is the point)
    private_pem = weak.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        weak.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    )
    headers = sign_request("POST", INBOX, {}, BODY, key_id=KEY_ID, private_key_pem=private_pem, now=NOW)
    with pytest.raises(SignatureError, match="has 1024 bits; at least 2048 are required"):
        verify_post((private_pem, public_pem), headers)


def test_c2_signature_strength_post_without_signed_digest(keys: tuple[str, str]) -> None:
    private_pem = keys[0]
    date = "Sat, 14 Mar 2026 15:09:26 GMT"
    lines = ["(request-target): post /users/bob/inbox", "host: remote.example", f"date: {date}"]
    headers = {
        "Host": "remote.example",
        "Date": date,
        "Digest": digest_header(BODY),
        "Signature": manual_signature(
            private_pem, lines, f'keyId="{KEY_ID}",algorithm="rsa-sha256",headers="(request-target) host date"'
        ),
    }
    with pytest.raises(SignatureError, match="a POST with a body must sign its Digest"):
        verify_post(keys, headers)
    # The same request passes when the caller chose not to require a digest (and the signature is good).
    assert verify_post(keys, headers, require_digest_for_body=False) == KEY_ID


def test_c2_signature_strength_signed_digest_header_missing(keys: tuple[str, str]) -> None:
    headers = {name: value for name, value in signed_post(keys).items() if name != "Digest"}
    with pytest.raises(SignatureError, match="the Digest header is signed but missing"):
        verify_post(keys, headers)


def test_c2_signature_strength_digest_mismatch(keys: tuple[str, str]) -> None:
    with pytest.raises(SignatureError, match="the Digest does not match the body"):
        verify_post(keys, signed_post(keys), body=BODY + b" ")


def test_c2_signature_strength_body_tampered_after_signing(keys: tuple[str, str]) -> None:
    headers = signed_post(keys)
    tampered = BODY.replace(b"Follow", b"Delete")
    with pytest.raises(SignatureError, match="Digest does not match"):
        verify_post(keys, headers, body=tampered)
    # Re-computing the Digest for the new body is caught by the signature instead.
    with pytest.raises(SignatureError, match="does not verify"):
        verify_post(keys, {**headers, "Digest": digest_header(tampered)}, body=tampered)


@pytest.mark.parametrize(
    ("digest", "reason"),
    [
        ("MD5=Sd/dVLAcvNLSq16eXua5uQ==", "offers no SHA-256 or SHA-512"),
        ("SHA-256=not*base64", "not valid base64"),
        ("SHA-256", "malformed"),
    ],
)
def test_c2_signature_strength_digest_unusable(keys: tuple[str, str], digest: str, reason: str) -> None:
    date = "Sat, 14 Mar 2026 15:09:26 GMT"
    lines = ["(request-target): post /users/bob/inbox", "host: remote.example", f"date: {date}", f"digest: {digest}"]
    headers = {
        "Host": "remote.example",
        "Date": date,
        "Digest": digest,
        "Signature": manual_signature(keys[0], lines, f'keyId="{KEY_ID}",headers="(request-target) host date digest"'),
    }
    with pytest.raises(SignatureError, match=reason):
        verify_post(keys, headers)


def test_c2_signature_strength_digest_with_sha256_and_sha512_both_checked(keys: tuple[str, str]) -> None:
    import hashlib

    sha512 = base64.b64encode(hashlib.sha512(BODY).digest()).decode()
    for digest, ok in [
        (f"{digest_header(BODY)},SHA-512={sha512}", True),
        (f"{digest_header(BODY)}, sha-512={sha512[:-4]}AAA=", False),
    ]:
        date = "Sat, 14 Mar 2026 15:09:26 GMT"
        lines = ["(request-target): post /users/bob/inbox", "host: remote.example", f"date: {date}", f"digest: {digest}"]
        headers = {
            "Host": "remote.example",
            "Date": date,
            "Digest": digest,
            "Signature": manual_signature(keys[0], lines, f'keyId="{KEY_ID}",headers="(request-target) host date digest"'),
        }
        if ok:
            assert verify_post(keys, headers) == KEY_ID
        else:
            with pytest.raises(SignatureError, match="Digest does not match"):
                verify_post(keys, headers)


def test_c2_signature_strength_content_digest_accepted_when_signed(keys: tuple[str, str]) -> None:
    content_digest = "sha-256=:" + digest_header(BODY).removeprefix("SHA-256=") + ":"
    date = "Sat, 14 Mar 2026 15:09:26 GMT"
    lines = [
        "(request-target): post /users/bob/inbox",
        "host: remote.example",
        f"date: {date}",
        f"content-digest: {content_digest}",
    ]
    headers = {
        "Host": "remote.example",
        "Date": date,
        "Content-Digest": content_digest,
        "Signature": manual_signature(keys[0], lines, f'keyId="{KEY_ID}",headers="(request-target) host date content-digest"'),
    }
    assert verify_post(keys, headers) == KEY_ID
    with pytest.raises(SignatureError, match="the Content-Digest does not match the body"):
        verify_post(keys, headers, body=BODY + b"!")
    with pytest.raises(SignatureError, match="Content-Digest header is signed but missing"):
        verify_post(keys, {k: v for k, v in headers.items() if k != "Content-Digest"})


@pytest.mark.parametrize(
    ("covered", "reason"),
    [
        ("host date digest", r"does not cover \(request-target\)"),
        ("(request-target) date digest", "does not cover the Host header"),
        ("(request-target) host digest", r"neither the Date header nor \(created\)"),
    ],
)
def test_c2_signature_strength_required_headers_not_signed(keys: tuple[str, str], covered: str, reason: str) -> None:
    date = "Sat, 14 Mar 2026 15:09:26 GMT"
    values = {
        "(request-target)": "post /users/bob/inbox",
        "host": "remote.example",
        "date": date,
        "digest": digest_header(BODY),
    }
    lines = [f"{name}: {values[name]}" for name in covered.split()]
    headers = {
        "Host": "remote.example",
        "Date": date,
        "Digest": digest_header(BODY),
        "Signature": manual_signature(keys[0], lines, f'keyId="{KEY_ID}",headers="{covered}"'),
    }
    public_key_calls: list[str] = []

    def public_key_for(key_id: str) -> str:
        public_key_calls.append(key_id)
        return keys[1]

    with pytest.raises(SignatureError, match=reason):
        verify_request("POST", "/users/bob/inbox", headers, BODY, public_key_for=public_key_for, now=NOW)
    assert public_key_calls == [], "a weak signature must be refused before any key is looked up"


def test_c2_signature_strength_get_without_signed_host(keys: tuple[str, str]) -> None:
    date = "Sat, 14 Mar 2026 15:09:26 GMT"
    headers = {
        "Host": "remote.example",
        "Date": date,
        "Signature": manual_signature(
            keys[0], ["(request-target): get /users/bob", f"date: {date}"], f'keyId="{KEY_ID}",headers="(request-target) date"'
        ),
    }
    with pytest.raises(SignatureError, match="does not cover the Host header"):
        verify_request("GET", "/users/bob", headers, b"", public_key_for=lookup(keys[1]), now=NOW)


def test_c2_signature_strength_signed_header_missing_from_request(keys: tuple[str, str]) -> None:
    headers = {name: value for name, value in signed_post(keys).items() if name != "Host"}
    with pytest.raises(SignatureError, match="signed header 'host' is missing"):
        verify_post(keys, headers)


@pytest.mark.parametrize(
    ("offset", "ok"),
    [
        (timedelta(hours=12), True),
        (timedelta(hours=12, seconds=1), False),
        (-timedelta(hours=1), True),
        (-timedelta(hours=1, seconds=1), False),
        (timedelta(0), True),
    ],
)
def test_c2_signature_strength_date_window_edges(keys: tuple[str, str], offset: timedelta, ok: bool) -> None:
    """Signed at NOW, checked at NOW + offset: 12 h old passes, 12 h 1 s fails; 1 h in the
    future passes, 1 h 1 s fails."""
    headers = signed_post(keys)
    if ok:
        assert verify_post(keys, headers, now=NOW + offset) == KEY_ID
    else:
        reason = "more than 12 hours old" if offset > timedelta(0) else "more than 1 hour in the future"
        with pytest.raises(SignatureError, match=reason):
            verify_post(keys, headers, now=NOW + offset)


@pytest.mark.parametrize("date", ["yesterday", "", "Sat, 14 Mar 2026 15:09:26 -0000", "Sat, 99 Mar 2026 15:09:26 GMT"])
def test_c2_signature_strength_unreadable_date(keys: tuple[str, str], date: str) -> None:
    lines = [
        "(request-target): post /users/bob/inbox",
        "host: remote.example",
        f"date: {date}".rstrip(),
        f"digest: {digest_header(BODY)}",
    ]
    headers = {
        "Host": "remote.example",
        "Date": date,
        "Digest": digest_header(BODY),
        "Signature": manual_signature(keys[0], lines, f'keyId="{KEY_ID}",headers="(request-target) host date digest"'),
    }
    with pytest.raises(SignatureError, match="Date header"):
        verify_post(keys, headers)


def test_c2_signature_strength_created_instead_of_date_with_hs2019(keys: tuple[str, str]) -> None:
    created = int(NOW.timestamp())
    lines = [
        "(request-target): post /users/bob/inbox",
        "host: remote.example",
        f"(created): {created}",
        f"digest: {digest_header(BODY)}",
    ]
    params = f'keyId="{KEY_ID}",algorithm="hs2019",created={created},headers="(request-target) host (created) digest"'
    headers = {"Host": "remote.example", "Digest": digest_header(BODY), "Signature": manual_signature(keys[0], lines, params)}
    assert verify_post(keys, headers) == KEY_ID
    with pytest.raises(SignatureError, match="more than 12 hours old"):
        verify_post(keys, headers, now=NOW + timedelta(hours=12, seconds=1))
    rsa_params = params.replace('algorithm="hs2019"', 'algorithm="rsa-sha256"')
    with pytest.raises(SignatureError, match=r"\(created\) may only be signed with hs2019"):
        verify_post(keys, {**headers, "Signature": manual_signature(keys[0], lines, rsa_params)})
    no_created = params.replace(f"created={created},", "")
    with pytest.raises(SignatureError, match="created parameter is missing"):
        verify_post(keys, {**headers, "Signature": manual_signature(keys[0], lines, no_created)})


def test_c2_signature_strength_past_its_expires(keys: tuple[str, str]) -> None:
    created, expires = int(NOW.timestamp()), int(NOW.timestamp()) + 300
    lines = [
        "(request-target): post /users/bob/inbox",
        "host: remote.example",
        f"(created): {created}",
        f"(expires): {expires}",
        f"digest: {digest_header(BODY)}",
    ]
    params = f'keyId="{KEY_ID}",created={created},expires={expires},headers="(request-target) host (created) (expires) digest"'
    headers = {"Host": "remote.example", "Digest": digest_header(BODY), "Signature": manual_signature(keys[0], lines, params)}
    assert verify_post(keys, headers, now=NOW + timedelta(minutes=65)) == KEY_ID  # within the 1 h of clock skew
    with pytest.raises(SignatureError, match="the signature expired"):
        verify_post(keys, headers, now=NOW + timedelta(minutes=65, seconds=1))


def test_c2_signature_strength_naive_now_is_refused(keys: tuple[str, str]) -> None:
    with pytest.raises(SignatureError, match="timezone-aware"):
        verify_post(keys, signed_post(keys), now=datetime(2026, 3, 14, 15, 9, 26))  # noqa: DTZ001 (the point)


# --- Hypothesis: tampering with anything signed breaks verification ---------------------------------

_visible = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    part=st.sampled_from(["host", "date", "digest", "body", "path", "method", "date-shift"]),
    replacement=_visible,
    body=st.binary(max_size=200),
    shift=st.integers(min_value=1, max_value=3600).flatmap(lambda s: st.sampled_from([s, -s])),
    rfc9421=st.booleans(),
)
def test_c2_signature_strength_any_tampering_breaks_verification(
    keys: tuple[str, str], part: str, replacement: str, body: bytes, shift: int, rfc9421: bool
) -> None:
    signer = sign_request_rfc9421 if rfc9421 else sign_request
    headers = signer("POST", INBOX, {}, body, key_id=KEY_ID, private_key_pem=keys[0], now=NOW)
    assert verify_post(keys, headers, body=body) == KEY_ID
    method, path, tampered_body = "POST", "/users/bob/inbox", body
    digest_name = "Content-Digest" if rfc9421 else "Digest"
    if part == "host":
        headers["Host"] = replacement if replacement != headers["Host"] else replacement + "x"
    elif part == "date":
        headers["Date"] = replacement
        if rfc9421:  # RFC 9421 signs `created`, not Date: tamper with the created parameter instead
            headers["Signature-Input"] = headers["Signature-Input"].replace(
                f"created={int(NOW.timestamp())}", f"created={int(NOW.timestamp()) + shift}"
            )
    elif part == "date-shift":
        headers["Date"] = (NOW + timedelta(seconds=shift)).strftime("%a, %d %b %Y %H:%M:%S GMT")
        if rfc9421:
            headers["Signature-Input"] = headers["Signature-Input"].replace(
                f"created={int(NOW.timestamp())}", f"created={int(NOW.timestamp()) - shift}"
            )
    elif part == "digest":
        headers[digest_name] = replacement if replacement != headers[digest_name] else replacement + "x"
    elif part == "body":
        tampered_body = body + replacement.encode()
    elif part == "path":
        path = "/" + replacement
    elif part == "method":
        method = "PUT"
    with pytest.raises(SignatureError):
        verify_request(method, path, headers, tampered_body, public_key_for=lookup(keys[1]), now=NOW)


# --- interop: Mastodon, the draft-cavage test vectors, RFC 9421 -------------------------------------


def test_interop_a_request_signed_the_way_mastodon_signs(keys: tuple[str, str]) -> None:
    """Mastodon's app/lib/request.rb: headers (request-target) host date digest, rsa-sha256,
    keyId <actor>#main-key, Digest SHA-256 in base64; the string to sign built by hand."""
    body = b'{"@context":"https://www.w3.org/ns/activitystreams","type":"Like","actor":"https://mastodon.example/users/alice"}'
    key_id = "https://mastodon.example/users/alice#main-key"
    date = "Sat, 14 Mar 2026 15:09:20 GMT"
    digest = digest_header(body)
    lines = ["(request-target): post /inbox", "host: rostra.example", f"date: {date}", f"digest: {digest}"]
    headers = {
        "Host": "rostra.example",
        "Date": date,
        "Digest": digest,
        "Content-Type": "application/activity+json",
        "User-Agent": "http.rb/5.2.0 (Mastodon/4.3.0; +https://mastodon.example/)",
        "Signature": manual_signature(
            keys[0], lines, f'keyId="{key_id}",algorithm="rsa-sha256",headers="(request-target) host date digest"'
        ),
    }
    verified = verify_request("POST", "/inbox", headers, body, public_key_for=lookup(keys[1], key_id), now=NOW)
    assert verified == key_id
    assert key_owner(verified) == "https://mastodon.example/users/alice"


# draft-cavage-http-signatures-12, Appendix C: its 1024-bit test key and request.
CAVAGE_PUBLIC_KEY = """-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDCFENGw33yGihy92pDjZQhl0C3
6rPJj+CvfSC8+q28hxA161QFNUd13wuCTUcq0Qd2qsBe/2hFyc2DCJJg0h1L78+6
Z4UMR7EOcpfdUE9Hf3m/hs+FUR45uBJeDK1HSFHD8bHKD6kv8FPGfJTotc+2xjJw
oYi+1hqp1fIekaxsyQIDAQAB
-----END PUBLIC KEY-----
"""
CAVAGE_HEADERS = {
    "Host": "example.com",
    "Date": "Sun, 05 Jan 2014 21:31:40 GMT",
    "Content-Type": "application/json",
    "Digest": "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
    "Content-Length": "18",
}
CAVAGE_BODY = b'{"hello": "world"}'
CAVAGE_NOW = datetime(2014, 1, 5, 21, 31, 40, tzinfo=UTC)
CAVAGE_DEFAULT = (
    'keyId="Test",algorithm="rsa-sha256",signature="SjWJWbWN7i0wzBvtPl8rbASWz5xQW6mcJmn+ibttBqtifLN7Sazz6m79cNfwwb8DMJ5cou1s7uEGKKCs'
    '+FLEEaDV5lp7q25WqS+lavg7T8hc0GppauB6hbgEKTwblDHYGEtbGmtdHgVCk9SuS13F0hZ8FD0k/5OxEPXe5WozsbM="'
)
CAVAGE_BASIC = (
    'keyId="Test",algorithm="rsa-sha256",headers="(request-target) host date",signature="qdx+H7PHHDZgy4y/Ahn9Tny9V3GP6YgBPyUXMmoxWtLb'
    'HpUnXS2mg2+SbrQDMCJypxBLSPQR2aAjn7ndmw2iicw3HMbe8VfEdKFYRqzic+efkb3nndiv/x1xSHDJWeSWkx3ButlYSuBskLu6kd9Fswtemr3lgdDEmn04swr2Os0="'
)
CAVAGE_ALL = (
    'keyId="Test",algorithm="rsa-sha256",headers="(request-target) host date content-type digest content-length",'
    'signature="vSdrb+dS3EceC9bcwHSo4MlyKS59iFIrhgYkz8+oVLEEzmYZZvRs8rgOp+63LEM3v+MFHB32NfpB2bEKBIvB1q52LaEUHFv120V01IL+TAD48XaERZ'
    'FukWgHoBTLMhYS2Gb51gWxpeIq8knRmPnYePbF5MOkR0Zkly4zKH7s1dE="'
)


def verify_cavage(signature: str, **kwargs: object) -> str:
    return verify_request(
        "POST",
        "/foo?param=value&pet=dog",
        {**CAVAGE_HEADERS, "Signature": signature},
        CAVAGE_BODY,
        public_key_for=lookup(CAVAGE_PUBLIC_KEY, "Test"),
        now=CAVAGE_NOW,
        **kwargs,  # type: ignore[arg-type]
    )


def test_interop_cavage_all_headers_test_vector_verifies() -> None:
    # The spec's key is 1024 bits, which Rostra refuses by default; the vector proves the string to sign.
    assert verify_cavage(CAVAGE_ALL, min_rsa_bits=1024) == "Test"
    with pytest.raises(SignatureError, match="has 1024 bits"):
        verify_cavage(CAVAGE_ALL)


def test_interop_cavage_basic_test_vector_verifies_but_lacks_a_digest() -> None:
    assert verify_cavage(CAVAGE_BASIC, min_rsa_bits=1024, require_digest_for_body=False) == "Test"
    with pytest.raises(SignatureError, match="must sign its Digest"):
        verify_cavage(CAVAGE_BASIC, min_rsa_bits=1024)


def test_interop_cavage_default_test_vector_is_too_weak_for_rostra() -> None:
    # Only `date` is signed: anyone holding one signed request could aim it at any URL.
    with pytest.raises(SignatureError, match=r"does not cover \(request-target\)"):
        verify_cavage(CAVAGE_DEFAULT, min_rsa_bits=1024)


# RFC 9421 Appendix B.1.2 (test-key-rsa-pss) and B.2.3 (full coverage, rsa-pss-sha512).
RFC9421_PSS_PUBLIC_KEY = """-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2
+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+
oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq
gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W
Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4
aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI
2wIDAQAB
-----END PUBLIC KEY-----
"""
RFC9421_HEADERS = {
    "Host": "example.com",
    "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
    "Content-Type": "application/json",
    "Content-Digest": "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
    "Content-Length": "18",
    "Signature-Input": 'sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length")'
    ';created=1618884473;keyid="test-key-rsa-pss"',
    "Signature": "sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+qRpRRU5p2voTp768ZrCUb38"
    "K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1pFkh/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs6"
    "5ldmlu9bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:",
}
RFC9421_NOW = datetime.fromtimestamp(1618884473, UTC)


def verify_rfc9421(headers: dict[str, str], body: bytes = CAVAGE_BODY) -> str:
    return verify_request(
        "POST",
        "/foo?param=Value&Pet=dog",
        headers,
        body,
        public_key_for=lookup(RFC9421_PSS_PUBLIC_KEY, "test-key-rsa-pss"),
        now=RFC9421_NOW,
    )


def test_interop_rfc9421_full_coverage_test_vector_verifies() -> None:
    assert verify_rfc9421(RFC9421_HEADERS) == "test-key-rsa-pss"
    with pytest.raises(SignatureError, match="Content-Digest does not match"):
        verify_rfc9421(RFC9421_HEADERS, body=b'{"hello": "World"}')
    with pytest.raises(SignatureError, match="does not verify"):
        verify_rfc9421({**RFC9421_HEADERS, "Content-Type": "text/plain"})


# --- C2: signature strength, RFC 9421 ---------------------------------------------------------------


def rfc9421_signed(keys: tuple[str, str], components: list[str], params: str, values: dict[str, str]) -> dict[str, str]:
    """An RFC 9421 request built by hand: the signature base from the RFC's rules."""
    inner = "(" + " ".join(f'"{c}"' for c in components) + ")" + params
    base = "\n".join([*(f'"{c}": {values[c]}' for c in components), f'"@signature-params": {inner}'])
    key = serialization.load_pem_private_key(keys[0].encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    signature = base64.b64encode(key.sign(base.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()
    return {
        "Host": "remote.example",
        "Date": "Sat, 14 Mar 2026 15:09:26 GMT",
        "Content-Digest": values.get("content-digest", "sha-256=:" + digest_header(BODY).removeprefix("SHA-256=") + ":"),
        "Signature-Input": f"sig1={inner}",
        "Signature": f"sig1=:{signature}:",
    }


RFC_VALUES = {
    "@method": "POST",
    "@target-uri": "https://remote.example/users/bob/inbox",
    "@authority": "remote.example",
    "@path": "/users/bob/inbox",
    "@request-target": "/users/bob/inbox",
    "content-digest": "sha-256=:" + digest_header(BODY).removeprefix("SHA-256=") + ":",
    "date": "Sat, 14 Mar 2026 15:09:26 GMT",
}
CREATED = f';created={int(NOW.timestamp())};keyid="{KEY_ID}"'


def test_rfc9421_mastodon_style_and_path_forms_verify(keys: tuple[str, str]) -> None:
    for components in (
        ["@method", "@target-uri", "content-digest"],
        ["@method", "@authority", "@path", "content-digest"],
        ["@method", "@authority", "@request-target", "content-digest"],
    ):
        assert verify_post(keys, rfc9421_signed(keys, components, CREATED, RFC_VALUES)) == KEY_ID
    with_alg = rfc9421_signed(keys, ["@method", "@target-uri", "content-digest"], CREATED + ';alg="rsa-v1_5-sha256"', RFC_VALUES)
    assert verify_post(keys, with_alg) == KEY_ID
    by_date = rfc9421_signed(keys, ["@method", "@target-uri", "content-digest", "date"], f';keyid="{KEY_ID}"', RFC_VALUES)
    assert verify_post(keys, by_date) == KEY_ID


@pytest.mark.parametrize(
    ("components", "params", "reason"),
    [
        (["@target-uri", "content-digest"], CREATED, "does not cover @method"),
        (["@method", "content-digest"], CREATED, "neither @target-uri nor @authority"),
        (["@method", "@authority", "content-digest"], CREATED, "does not cover the path"),
        (["@method", "@target-uri", "content-digest"], f';keyid="{KEY_ID}"', "no created parameter"),
        (["@method", "@target-uri"], CREATED, "must sign its Digest"),
        (["@method", "@target-uri", "content-digest"], CREATED + ';alg="hmac-sha256"', "'hmac-sha256' is not supported"),
        (["@method", "@target-uri", "content-digest"], f";created={int(NOW.timestamp())}", "has no keyid"),
        (["@method", "@target-uri", "content-digest"], CREATED + ';alg="ed25519"', "does not fit an RSA key"),
        (["@method", "@target-uri", "content-digest", "@status"], CREATED, "'@status' is not supported"),
    ],
)
def test_c2_signature_strength_rfc9421_refusals(keys: tuple[str, str], components: list[str], params: str, reason: str) -> None:
    values = {**RFC_VALUES, "@status": "200"}
    with pytest.raises(SignatureError, match=reason):
        verify_post(keys, rfc9421_signed(keys, components, params, values))


def test_c2_signature_strength_rfc9421_window(keys: tuple[str, str]) -> None:
    headers = rfc9421_signed(keys, ["@method", "@target-uri", "content-digest"], CREATED, RFC_VALUES)
    assert verify_post(keys, headers, now=NOW + timedelta(hours=12)) == KEY_ID
    with pytest.raises(SignatureError, match="more than 12 hours old"):
        verify_post(keys, headers, now=NOW + timedelta(hours=12, seconds=1))
    with pytest.raises(SignatureError, match="more than 1 hour in the future"):
        verify_post(keys, headers, now=NOW - timedelta(hours=1, seconds=1))
    expiring = rfc9421_signed(
        keys, ["@method", "@target-uri", "content-digest"], CREATED + f";expires={int(NOW.timestamp())}", RFC_VALUES
    )
    with pytest.raises(SignatureError, match="the signature expired"):
        verify_post(keys, expiring, now=NOW + timedelta(hours=1, seconds=1))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"Signature": None}, "has a Signature-Input header but no Signature header"),
        ({"Signature": "other=:AAAA:"}, "name no signature in common"),
        ({"Signature-Input": 'sig1=("@method" "@target-uri"'}, "malformed"),
        ({"Signature-Input": "sig1=(@method)"}, "malformed|not a string"),
        ({"Signature-Input": 'sig1=("@method";sf "@target-uri" "content-digest")' + CREATED}, "has parameters"),
        ({"Signature": 'sig1="not bytes"'}, "malformed"),
        ({"Signature-Input": 'sig1=("@method" "@method" "@target-uri")' + CREATED}, "repeats a component"),
        ({"Content-Digest": "md5=:AAAA:"}, "offers no sha-256 or sha-512"),
        ({"Content-Digest": "sha-256=abc"}, "not a byte sequence"),
        ({"Content-Digest": "sha-256=:AAAA"}, "Content-Digest header is malformed"),
    ],
)
def test_c2_signature_strength_rfc9421_malformed(keys: tuple[str, str], change: dict[str, str | None], reason: str) -> None:
    headers = rfc9421_signed(keys, ["@method", "@target-uri", "content-digest"], CREATED, RFC_VALUES)
    for name, value in change.items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value
    with pytest.raises(SignatureError, match=reason):
        verify_post(keys, headers)


def test_rfc9421_ed25519_key_verifies() -> None:
    """Some servers (FEP-521a) publish Ed25519 keys; RFC 9421's ed25519 algorithm is accepted."""
    private = ed25519.Ed25519PrivateKey.generate()
    public_pem = (
        private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    )
    inner = '("@method" "@target-uri" "content-digest")' + CREATED + ';alg="ed25519"'
    base = "\n".join(
        [*(f'"{c}": {RFC_VALUES[c]}' for c in ("@method", "@target-uri", "content-digest")), f'"@signature-params": {inner}']
    )
    headers = {
        "Host": "remote.example",
        "Content-Digest": RFC_VALUES["content-digest"],
        "Signature-Input": f"sig1={inner}",
        "Signature": f"sig1=:{base64.b64encode(private.sign(base.encode())).decode()}:",
    }
    assert verify_request("POST", "/users/bob/inbox", headers, BODY, public_key_for=lookup(public_pem), now=NOW) == KEY_ID
    with pytest.raises(SignatureError, match="does not verify"):
        verify_request("POST", "/users/bob/other", headers, BODY, public_key_for=lookup(public_pem), now=NOW)
