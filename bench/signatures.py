"""How many HTTP signatures a second one core makes and checks.

    .venv/bin/python -m bench.signatures [--seconds 2]

Signs and verifies a 1 KB inbox POST with an RSA 2048 key, the draft-cavage way (what every
delivery and every inbox request costs) and the RFC 9421 way, with the parsed keys cached as
they are in a running server; then once more with the key cache cleared before each call, which
is what the first request from a new remote actor costs. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime

from rostra.federation import signatures
from rostra.federation.signatures import generate_key_pair, sign_request, sign_request_rfc9421, verify_request

KEY_ID = "https://rostra.example/users/alice#main-key"
INBOX = "https://remote.example/users/bob/inbox"
NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)


def rate(name: str, seconds: float, call: Callable[[], object]) -> None:
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        call()
        count += 1
    print(f"{name:44s} {count / elapsed:9.0f} /s   {elapsed / count * 1e6:8.0f} µs each")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()

    started = time.perf_counter()
    private_pem, public_pem = generate_key_pair()
    print(f"generate_key_pair (RSA 2048): {(time.perf_counter() - started) * 1000:.0f} ms")
    body = b'{"type": "Create", "object": {"content": "' + b"x" * 960 + b'"}}'
    cavage = sign_request("POST", INBOX, {}, body, key_id=KEY_ID, private_key_pem=private_pem, now=NOW)
    rfc9421 = sign_request_rfc9421("POST", INBOX, {}, body, key_id=KEY_ID, private_key_pem=private_pem, now=NOW)

    def lookup(_: str) -> str:
        return public_pem

    def sign_cavage() -> object:
        return sign_request("POST", INBOX, {}, body, key_id=KEY_ID, private_key_pem=private_pem, now=NOW)

    def sign_rfc9421() -> object:
        return sign_request_rfc9421("POST", INBOX, {}, body, key_id=KEY_ID, private_key_pem=private_pem, now=NOW)

    def verify(headers: dict[str, str]) -> Callable[[], object]:
        return lambda: verify_request("POST", "/users/bob/inbox", headers, body, public_key_for=lookup, now=NOW)

    def cold(call: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            signatures._private_key.cache_clear()
            signatures._public_key.cache_clear()
            return call()

        return run

    rate("sign, draft-cavage (hs2019)", args.seconds, sign_cavage)
    rate("sign, RFC 9421 (rsa-v1_5-sha256)", args.seconds, sign_rfc9421)
    rate("verify, draft-cavage", args.seconds, verify(cavage))
    rate("verify, RFC 9421", args.seconds, verify(rfc9421))
    rate("sign, draft-cavage, key parsed every time", args.seconds, cold(sign_cavage))
    rate("verify, draft-cavage, key parsed every time", args.seconds, cold(verify(cavage)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
