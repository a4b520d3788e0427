#!/usr/bin/env python3
"""Checks an X-NEOSTORE-SIGNATURE the way a receiver written in Python should.

    verify.py SECRET SIGNATURE BODY_FILE      exit 0 if it matches, 1 if not

The signature is HMAC-SHA256 over the exact body bytes, keyed with the
webhook's signatureSecret (its ASCII bytes), sent as lowercase hex or, when
the service is configured so, standard base64. Standard library only.
"""
import base64
import hashlib
import hmac
import sys


def signature_valid(secret: str, body: bytes, presented: str) -> bool:
    mac = hmac.new(secret.encode("ascii"), body, hashlib.sha256).digest()
    presented = presented.strip()
    if len(presented) == 64:
        expected = mac.hex()
        presented = presented.lower()
    else:
        expected = base64.b64encode(mac).decode("ascii")
    # compare_digest takes the same time wherever the first difference is.
    return hmac.compare_digest(expected.encode("ascii"), presented.encode("ascii", "replace"))


def main(argv):
    if len(argv) != 4:
        print("usage: verify.py SECRET SIGNATURE BODY_FILE", file=sys.stderr)
        return 2
    with open(argv[3], "rb") as f:
        body = f.read()          # the raw bytes, never re-serialised JSON
    if signature_valid(argv[1], body, argv[2]):
        return 0
    print("verify.py: signature does not match", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
