#!/usr/bin/env python3
"""py_webauthn 3.x on the assertion `benches/benches/webauthn.rs` times: one ES256 assertion
through `verify_authentication_response`, from the `AuthenticationResponseJSON` text (parsed on
every call, as our bench parses it) to the verified result.

The assertion matches the Rust bench's: a P-256 key, rpId `example.com`, origin
`https://example.com`, a 32-byte challenge, flags UP and UV, counter 1 against a stored 0,
a 16-byte credential id and a user handle; `cryptography` (OpenSSL) signs it here.

Prints one JSON object: the per-call median and minimum over `--repeat` timings of `--number`
calls each (timeit), plus the versions, so a results script can read it. Not part of CI.

    python3 -m venv /tmp/py-webauthn && /tmp/py-webauthn/bin/pip install -r benches/peers/requirements.txt
    /tmp/py-webauthn/bin/python benches/peers/py_webauthn_es256.py
"""

import argparse
import base64
import hashlib
import json
import os
import platform
import statistics
import struct
import timeit
from importlib.metadata import version

import cbor2
from cryptography.hazmat.backends.openssl import backend as openssl
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn import verify_authentication_response
from webauthn.helpers.exceptions import InvalidAuthenticationResponse

RP_ID = "example.com"
ORIGIN = "https://example.com"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def es256_assertion():
    """A fresh key, its COSE_Key, and an assertion it signed: (json_text, challenge, cose_key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    cose_key = cbor2.dumps(
        {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
    )
    challenge = os.urandom(32)
    credential_id = os.urandom(16)
    client_data = json.dumps(
        {"type": "webauthn.get", "challenge": b64url(challenge), "origin": ORIGIN, "crossOrigin": False},
        separators=(",", ":"),
    ).encode()
    flags = 0x01 | 0x04  # UP, UV
    authenticator_data = hashlib.sha256(RP_ID.encode()).digest() + bytes([flags]) + struct.pack(">I", 1)
    signature = key.sign(authenticator_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
    response = {
        "id": b64url(credential_id),
        "rawId": b64url(credential_id),
        "type": "public-key",
        "response": {
            "clientDataJSON": b64url(client_data),
            "authenticatorData": b64url(authenticator_data),
            "signature": b64url(signature),
            "userHandle": b64url(os.urandom(16)),
        },
        "clientExtensionResults": {},
    }
    return json.dumps(response), challenge, cose_key


def verify(json_text: str, challenge: bytes, cose_key: bytes):
    return verify_authentication_response(
        credential=json_text,
        expected_challenge=challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        credential_public_key=cose_key,
        credential_current_sign_count=0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=2000, help="calls per timing")
    parser.add_argument("--repeat", type=int, default=15, help="timings")
    args = parser.parse_args()

    json_text, challenge, cose_key = es256_assertion()
    # It must accept before it is timed, and refuse a tampered signature.
    assert verify(json_text, challenge, cose_key).new_sign_count == 1
    tampered = json.loads(json_text)
    tampered["response"]["signature"] = b64url(
        base64.urlsafe_b64decode(tampered["response"]["signature"] + "==")[:-1] + b"\x00"
    )
    try:
        verify(json.dumps(tampered), challenge, cose_key)
        raise SystemExit("py_webauthn accepted a tampered signature")
    except InvalidAuthenticationResponse:
        pass

    timings = timeit.repeat(
        lambda: verify(json_text, challenge, cose_key), number=args.number, repeat=args.repeat
    )
    per_call_us = [t / args.number * 1e6 for t in timings]
    print(
        json.dumps(
            {
                "peer": "py_webauthn verify_authentication_response (ES256)",
                "median_us": round(statistics.median(per_call_us), 2),
                "min_us": round(min(per_call_us), 2),
                "calls": args.number * args.repeat,
                "webauthn": version("webauthn"),
                "cryptography": version("cryptography"),
                "openssl": openssl.openssl_version_text(),
                "python": platform.python_version(),
            }
        )
    )


if __name__ == "__main__":
    main()
